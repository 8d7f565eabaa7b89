// The engine's thread: owns the wasm Lab so the page never freezes. Requests are
// {id, op, args}; replies are {id, ok, result} or {id, ok: false, error}; long steps post
// {progress: {step, done, total}}. Cancelling terminates this worker. Files come as File
// objects (cloning one copies no bytes) and are read here.
import init, { Lab, attackCatalogue, defaultConfig, webgpuCheck, webgpuAdapter, runGpuJob, unpackZip, imageLabels, zipFiles } from '../pkg/mialab.js';
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
  else if (lab && labKey === key) freeLab(lab);
  if (fresh && shelf.has(key)) {
    freeLab(shelf.get(key));
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
    freeLab(old);
    dropped.push(oldest);
  }
  return { resumed, dropped };
}

/** The engine choice each Lab's WebGPU outputs were made for. */
const preparedFor = new WeakMap();

/**
 * Before an audit: with `auto` or `webgpu`, runs the target and references over the audit and
 * population records on WebGPU (awaited here, as the audit itself cannot) and hands the
 * outputs to the Lab; `webgpu` makes anything that keeps them off WebGPU an error, `auto`
 * keeps the reason for the report and runs them on the CPU: then, and with `cpu`, on a pool
 * of `workers` model threads when there is more than one. Returns what ran beforehand, if
 * anything: {ran, where, seconds}.
 */
async function prepareEngine(/** @type {string} */ choice, /** @type {string} */ configJson, /** @type {number} */ workers) {
  const started = performance.now();
  if (choice === 'cpu') lab.forgetGpuOutputs(undefined);
  else {
    const ran = await prepareGpu(choice);
    if (ran) return ran === 'run' ? { ran: 'the target and its references', where: 'on WebGPU', seconds: (performance.now() - started) / 1000 } : null;
  }
  if (workers <= 1) return null;
  const pooled = await runOnPool(configJson, workers);
  return pooled ? { ...pooled, seconds: (performance.now() - started) / 1000 } : null;
}

/** The WebGPU stage of {@link prepareEngine}: 'run' or 'held' when WebGPU's outputs stand for every model run, else null (the reason is kept for the report). */
async function prepareGpu(/** @type {string} */ choice) {
  const force = choice === 'webgpu';
  if (!('gpu' in navigator)) {
    const reason = 'this browser offers no WebGPU (navigator.gpu is missing)';
    if (force) throw new Error(`WebGPU was chosen but cannot run this audit: ${reason}`);
    lab.forgetGpuOutputs(reason);
    return null;
  }
  if (preparedFor.get(lab) !== choice) lab.forgetGpuOutputs(undefined);
  preparedFor.set(lab, choice);
  const job = lab.gpuJob();
  if (job.done) {
    job.free();
    return 'held';
  }
  self.postMessage({ progress: { step: 'running the models on WebGPU', done: 0, total: 1 } });
  const outcome = lab.rememberGpuOutputs(await runGpuJob(job, force));
  self.postMessage({ progress: { step: 'running the models on WebGPU', done: 1, total: 1 } });
  return outcome.reason ? null : 'run';
}

/** The model threads, made on first use and kept (with the models they loaded) for the next audit. */
const pool = /** @type {Worker[]} */ ([]);
/** The model keys each thread holds. */
const poolHolds = new Map();
let poolRequest = 0;

/** Starts model threads until there are `size` (each compiles the engine as it starts). */
function growPool(/** @type {number} */ size) {
  while (pool.length < size) {
    const worker = new Worker(new URL('./pool-worker.js', import.meta.url), { type: 'module' });
    pool.push(worker);
    poolHolds.set(worker, new Set());
  }
}

/** Sends `message` to model thread `worker` (moving `transfer`); resolves to its outputs or scores, calling `onDone` as runs finish. */
function askPool(/** @type {Worker} */ worker, /** @type {any} */ message, /** @type {(done: number) => void} */ onDone, /** @type {Transferable[]} */ transfer = []) {
  const id = ++poolRequest;
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      const reply = event.data;
      if (reply.id !== id) return;
      if (reply.error !== undefined) reject(new Error(`a model worker failed: ${reply.error}`));
      else if (reply.outputs) resolve({ outputs: reply.outputs, sums: reply.sums || [] });
      else if (reply.scored) resolve(reply.scored);
      else onDone(reply.done);
    };
    worker.onerror = (event) => reject(new Error(`a model worker failed: ${event.message || 'it could not start'}`));
    worker.postMessage({ id, ...message }, transfer);
  });
}

/**
 * Runs the models the audit would run over whole record sets on up to `workers` model
 * threads, each holding a contiguous share of the models, and hands the outputs to the Lab;
 * meanwhile this thread makes the target-only queries, sharing their parts with the model
 * threads (src/web/query_parts.rs). Returns which models ran where ({ran, where}), or null
 * when there was nothing to run.
 */
async function runOnPool(/** @type {string} */ configJson, /** @type {number} */ workers) {
  const job = lab.poolJob(configJson);
  if (!job) return null;
  let handed = false;
  try {
    if (job.empty) return null;
    // This thread makes the target's extra queries meanwhile: it needs a core of its own.
    const threads = Math.max(1, Math.min(workers - (job.queriesAhead ? 1 : 0), job.models));
    growPool(threads);
    const ownerOf = (/** @type {number} */ model) => Math.floor((model * threads) / job.models);
    const runs = Array.from({ length: threads }, () => /** @type {{model: number, set: number}[]} */ ([]));
    for (let set = 0; set < job.sets; set++) for (const model of job.setModels(set)) runs[ownerOf(model)].push({ model, set });
    const total = runs.reduce((n, r) => n + r.length, 0);
    const features = Array.from({ length: job.sets }, (_, set) => job.setFeatures(set));
    // Parts of the target-only queries (label-only's copies) each thread makes after its runs.
    const shares = /** @type {{kind: string, set: number, start: number, end: number}[][]} */ (job.queriesAhead ? job.queryShares(threads) : runs.map(() => []));
    const queries = (/** @type {number} */ w) => (shares[w].length === 0 ? undefined : {
      target: job.modelBytes(0),
      config: configJson,
      labels: Array.from({ length: job.sets }, (_, set) => job.setLabels(set)),
      parts: shares[w],
    });
    const done = new Array(threads).fill(0);
    const where = `in ${threads} model worker${threads > 1 ? 's' : ''}`;
    const step = `running the models ${where}`;
    const report = () => self.postMessage({ progress: { step, done: done.reduce((a, b) => a + b, 0), total } });
    report();
    const running = Promise.all(runs.map((share, w) => {
      const worker = pool[w];
      const held = poolHolds.get(worker);
      const keys = [...new Set(share.map((r) => r.model))].map((m) => ({ model: m, key: job.modelKey(m) }));
      const load = keys.filter((k) => !held.has(k.key)).map((k) => ({ key: k.key, bytes: job.modelBytes(k.model) }));
      poolHolds.set(worker, new Set(keys.map((k) => k.key)));
      return askPool(worker, {
        keep: keys.map((k) => k.key),
        load,
        sets: features,
        runs: share.map((r) => ({ key: job.modelKey(r.model), set: r.set })),
        batch: job.batchSize,
        queries: queries(w),
      }, (n) => {
        done[w] = n;
        report();
      });
    }));
    // While they run, this thread makes the queries that need only the target, but for the
    // parts the workers make (the audit takes them all if nothing changed in between).
    try {
      lab.prepareQueries(configJson, shares.flat(), (step, done, total) => self.postMessage({ progress: { step, done, total } }));
    } catch {
      // The audit meets the same failure and reports it.
    }
    const replies = await running;
    runs.forEach((share, w) => share.forEach((r, k) => job.accept(r.model, r.set, replies[w].outputs[k])));
    try {
      shares.forEach((parts, w) => parts.forEach((part, k) => lab.acceptQueryParts(part, replies[w].sums[k])));
    } catch {
      // Queries missing a part are made again by the audit itself.
    }
    const ran = new Set(runs.flat().map((r) => r.model));
    const references = [...ran].filter((m) => m > 0).length;
    const copies = shares.flat().reduce((n, part) => n + part.end - part.start, 0);
    const models = [ran.has(0) ? 'the target' : '', references ? `${references} reference model${references > 1 ? 's' : ''}` : ''].filter(Boolean).join(' and ');
    const what = copies ? `${models} (and ${copies} of the target-only queries' parts)` : models;
    handed = true;
    lab.rememberPoolOutputs(job, configJson);
    return { ran: what, where };
  } catch (error) {
    // A thread that failed may hold anything: start afresh next time.
    for (const worker of pool.splice(0)) worker.terminate();
    poolHolds.clear();
    throw error;
  } finally {
    if (!handed) job.free();
  }
}

/**
 * The audit with its attacks that fit a model (Shokri's) scored in a model worker while this
 * thread measures the others (src/web/split_audit.rs); the same report as `lab.audit`. If the
 * worker fails, this thread runs the whole audit, which reports any failure in its own words.
 */
async function auditAcrossWorkers(/** @type {string} */ configJson, /** @type {(step: string, done: number, total: number) => void} */ progress) {
  const elsewhere = lab.attacksElsewhere(configJson);
  if (elsewhere.length === 0) return lab.audit(configJson, progress);
  const signals = lab.signalsForElsewhere(configJson, progress);
  growPool(1);
  const scoring = askPool(pool[0], { score: { signals, config: configJson, attacks: elsewhere } }, () => {}, [signals.buffer]);
  try {
    lab.beginAudit(configJson, elsewhere, progress);
  } catch (error) {
    await scoring.catch(() => null);
    throw error;
  }
  const made = await scoring.catch(() => null);
  return made ? lab.finishAudit(made, progress) : lab.audit(configJson, progress);
}

/** Bytes of a CSV read per step: the file is parsed as it is read, never held whole. */
const CSV_CHUNK = 4 << 20;
/** Rows of the per-record CSV written per step. */
const CSV_ROWS = 50000;

/** Reads audit (`population` false) or population records from the CSV `file` in chunks, with progress. */
async function loadCsv(/** @type {boolean} */ population, /** @type {File} */ file, /** @type {string | undefined} */ schema) {
  lab.beginCsv(population, file.name, schema, file.size);
  const step = `reading ${file.name}`;
  for (let at = 0; at < file.size; at += CSV_CHUNK) {
    const chunk = new Uint8Array(await file.slice(at, at + CSV_CHUNK).arrayBuffer());
    const records = lab.pushCsv(chunk);
    self.postMessage({ progress: { step, done: Math.min(file.size, at + CSV_CHUNK), total: file.size, records } });
  }
  return lab.finishCsv();
}

/** The Lab behind each audit result the page holds, by result id. */
const resultLabs = new Map();
let nextResult = 1;

/** The Lab that computed result `id` (its per-record table lives there). */
function labOf(/** @type {number} */ id) {
  const owner = resultLabs.get(id);
  if (!owner) throw new Error('these results\u2019 records are no longer loaded: run the audit again to read them');
  return owner;
}

/** Frees a Lab and forgets the results it holds. */
function freeLab(/** @type {Lab} */ old) {
  for (const [id, owner] of resultLabs) if (owner === old) resultLabs.delete(id);
  old.free();
}

/** Result `id`'s per-record table (`table` in its Lab) as a CSV file, written in parts. */
function perRecordCsv(/** @type {number} */ id, /** @type {number} */ table, /** @type {number} */ rows) {
  const owner = labOf(id);
  const parts = [];
  for (let start = 0; start === 0 || start < rows; start += CSV_ROWS) {
    parts.push(owner.perRecordCsv(table, start, CSV_ROWS));
    self.postMessage({ progress: { step: 'writing the per-record table', done: Math.min(rows, start + CSV_ROWS), total: rows } });
  }
  return new Blob(parts, { type: 'text/csv' });
}

const IMAGE = /\.(png|jpe?g)$/i;

/**
 * Image files (or zips of them) and their labels.csv (beside them or inside a zip), read by
 * the engine: the images' names and bytes, sorted by name, and the labels by file name.
 */
async function imageEntries(/** @type {File[]} */ files, /** @type {File | null} */ labelsFile, /** @type {string[] | null} */ classes) {
  const all = [];
  for (const file of files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (file.name.toLowerCase().endsWith('.zip')) all.push(...unpackZip(bytes, file.name));
    else all.push({ name: file.name, bytes });
  }
  const labels = labelsFile ? { name: labelsFile.name, bytes: new Uint8Array(await labelsFile.arrayBuffer()) } : all.find((e) => e.name === 'labels.csv');
  if (!labels) throw new Error('add a labels CSV (file,label[,member]), or put labels.csv inside the zip');
  const images = all.filter((e) => IMAGE.test(e.name)).sort((a, b) => a.name.localeCompare(b.name));
  if (images.length === 0) throw new Error('no PNG or JPEG images were found');
  return { images, labels: imageLabels(labels.bytes, labels.name, classes ?? undefined) };
}

const ops = {
  catalogue: () => attackCatalogue(),
  defaultConfig: () => defaultConfig(),
  availability: () => lab.availability(),
  loadModel: (bytes, name) => lab.loadModel(bytes, name),
  loadOutputs: (bytes, name) => lab.loadOutputs(bytes, name),
  loadPopulationOutputs: (bytes, name) => lab.loadPopulationOutputs(bytes, name),
  loadCsv,
  imageEntries,
  recordRows: (id, table, query) => labOf(id).recordRows(table, JSON.stringify(query)),
  perRecordCsv,
  htmlReport: (id, table) => labOf(id).htmlReport(table),
  loadRecordsNpy: (population, name, features, labels, membership, ids, classes) =>
    lab.loadRecordsNpy(population, name, features, labels, membership, ids, classes),
  clearPopulation: () => lab.clearPopulation(),
  addReferenceModel: (bytes, name) => lab.addReferenceModel(bytes, name),
  clearReferences: () => lab.clearReferences(),
  loadKeepMask: (bytes, name) => lab.loadKeepMask(bytes, name),
  unpackZip: (bytes, name) => unpackZip(bytes, name),
  // Reference training: what the training workers need, and what their results come to.
  trainingSetup: (recipe, models, seed) => lab.trainingSetup(recipe, models, seed),
  recipeMatch: (accuracies) => lab.recipeMatch(accuracies),
  zipFiles: (names, contents) => zipFiles(names, contents),
  // Starts the model threads an audit with `workers` will use, so that it does not wait for them.
  warmPool: (workers) => {
    if (workers > 1) growPool(Math.min(workers, 64));
    return true;
  },
  audit: async (configJson, engineChoice = 'cpu', workers = 1) => {
    const beforehand = await prepareEngine(engineChoice, configJson, workers);
    const progress = (/** @type {string} */ step, /** @type {number} */ done, /** @type {number} */ total) => self.postMessage({ progress: { step, done, total } });
    const result = JSON.parse(workers > 1 ? await auditAcrossWorkers(configJson, progress) : lab.audit(configJson, progress));
    if (beforehand) result.run.beforehand = beforehand;
    result.resultId = nextResult++;
    resultLabs.set(result.resultId, lab);
    return result;
  },
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
  // The browser's WebGPU adapter ({adapter, software}) or why there is none ({reason}).
  webgpuAdapter: async () => ('gpu' in navigator ? webgpuAdapter() : { reason: 'this browser offers no WebGPU (navigator.gpu is missing)' }),
  // Bytes of the engine's wasm memory, which only grows: the most it has held.
  memory: async () => (await ready).memory.buffer.byteLength,
  switchSession,
  // The current Lab is about to be changed by an upload: it no longer stands for its demo.
  detachSession: () => {
    labKey = null;
    return true;
  },
  reset: () => {
    for (const old of shelf.values()) freeLab(old);
    shelf.clear();
    lab = new Lab();
    labKey = null;
    return true;
  },
};

// For the benchmarks (Playwright evaluates it in this worker): the wasm memory's size.
Object.assign(self, { engineMemory: ops.memory });

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
