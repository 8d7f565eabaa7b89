// The engine's thread: owns the wasm Lab so the page never freezes. Requests are
// {id, op, args}; replies are {id, ok, result} or {id, ok: false, error}; long steps post
// {progress: {step, done, total}}. Cancelling terminates this worker.
import init, { Lab, attackCatalogue, defaultConfig, webgpuCheck } from '../pkg/mialab.js';
import { simd } from 'wasm-feature-detect';

// The engine is built with WebAssembly SIMD (tract's kernels need it to be fast); a browser
// without it gets this sentence instead of a bare compile error.
const ready = simd().then((supported) => {
  if (!supported) throw new Error('this browser does not run WebAssembly SIMD, which the engine is built with (Chrome or Edge 91+, Firefox 89+, Safari 16.4+ have it)');
  return init();
});
/** @type {Lab | null} */
let lab = null;
/** The bundled demo the current Lab holds (null: uploads or nothing), and the demos set aside
 * with their computed signals, most recently used last, so that going back to a demo (as the
 * workshop's steps do) runs no model twice. */
let labKey = /** @type {string | null} */ (null);
const shelf = new Map();
const SHELF_SIZE = 4;

/** Makes the Lab of demo `key` current: the one set aside earlier, or (`fresh`, or none kept) a new one. */
function switchSession(/** @type {string} */ key, /** @type {boolean} */ fresh) {
  if (labKey === key && lab && !fresh) return { resumed: true, dropped: [] };
  if (lab && labKey && labKey !== key) shelf.set(labKey, lab);
  else if (lab && labKey === key) lab.free();
  if (fresh && shelf.has(key)) {
    shelf.get(key).free();
    shelf.delete(key);
  }
  const resumed = shelf.has(key);
  lab = resumed ? shelf.get(key) : new Lab();
  shelf.delete(key);
  labKey = key;
  const dropped = [];
  while (shelf.size > SHELF_SIZE - 1) {
    const [oldest, old] = shelf.entries().next().value;
    shelf.delete(oldest);
    old.free();
    dropped.push(oldest);
  }
  return { resumed, dropped };
}

const ops = {
  catalogue: () => attackCatalogue(),
  defaultConfig: () => defaultConfig(),
  availability: () => lab.availability(),
  loadModel: (bytes, name) => lab.loadModel(bytes, name),
  loadRecordsCsv: (bytes, name, schema) => lab.loadRecordsCsv(bytes, name, schema),
  loadPopulationCsv: (bytes, name, schema) => lab.loadPopulationCsv(bytes, name, schema),
  loadRecordsNpy: (population, name, features, labels, membership, ids, classes) =>
    lab.loadRecordsNpy(population, name, features, labels, membership, ids, classes),
  clearPopulation: () => lab.clearPopulation(),
  addReferenceModel: (bytes, name) => lab.addReferenceModel(bytes, name),
  clearReferences: () => lab.clearReferences(),
  loadKeepMask: (bytes, name) => lab.loadKeepMask(bytes, name),
  audit: (configJson) =>
    JSON.parse(lab.audit(configJson, (step, done, total) => self.postMessage({ progress: { step, done, total } }))),
  // The loaded target and references on WebGPU and on tract over the first `limit` audit records.
  webgpuCheck: async (limit) => {
    if (!('gpu' in navigator)) return { available: false, reason: 'this browser offers no WebGPU (navigator.gpu is missing)' };
    const result = await webgpuCheck(lab.allModelBytes(), lab.auditFeatures(limit));
    // wgpu cannot name a browser's adapter; WebGPU itself can.
    const adapter = result.available ? await navigator.gpu.requestAdapter() : null;
    const info = adapter && adapter.info;
    if (info) result.adapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') + ` (${result.adapter})`;
    return result;
  },
  switchSession,
  // The current Lab is about to be changed by an upload: it no longer stands for its demo.
  detachSession: () => {
    labKey = null;
    return true;
  },
  reset: () => {
    for (const old of shelf.values()) old.free();
    shelf.clear();
    lab = new Lab();
    labKey = null;
    return true;
  },
};

self.onmessage = async (event) => {
  const { id, op, args } = event.data;
  try {
    await ready;
    if (!lab) lab = new Lab();
    if (!(op in ops)) throw new Error(`unknown operation ${op}`);
    const result = await ops[op](...(args || []));
    self.postMessage({ id, ok: true, result });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    self.postMessage({ id, ok: false, error: message });
  }
};
