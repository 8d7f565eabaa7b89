// The benchmark's page script: window.bench(options) times mialab (a pool of `threads`
// workers, the records split between them) and onnxruntime-web (`threads` threads) over the
// same records, best of `repeats` runs of `passes` passes, and returns records/s and the
// largest difference between the two engines' outputs.
import { readNpy } from '/npy.js';

/** A worker's answer to one message. */
function ask(worker, message, transfer = []) {
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => (data.error ? reject(new Error(data.error)) : resolve(data));
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage(message, transfer);
  });
}

async function bytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The records as float32, as mialab reads them (uint8 pixels divided by 255). */
async function records(url) {
  const { shape, values, scale } = readNpy(await bytes(url));
  const floats = values instanceof Float32Array ? values : Float32Array.from(values, (v) => v * scale);
  return { shape, floats };
}

async function timed(run, repeats) {
  let best = Infinity;
  for (let i = 0; i < repeats; i += 1) {
    const started = performance.now();
    await run();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
}

window.bench = async ({ model: modelUrl, features: featuresUrl, threads, batch, repeats, minSeconds }) => {
  const model = await bytes(modelUrl);
  const { shape, floats } = await records(featuresUrl);
  const n = shape[0];
  const perRecord = floats.length / n;

  // mialab: `threads` workers, each a contiguous share of the records.
  const pool = [];
  let info = null;
  for (let t = 0; t < threads; t += 1) {
    const [first, end] = [Math.floor((t * n) / threads), Math.floor(((t + 1) * n) / threads)];
    const worker = new Worker('mialab-worker.js', { type: 'module' });
    info = await ask(worker, { cmd: 'load', model: model.slice().buffer, records: floats.slice(first * perRecord, end * perRecord).buffer });
    pool.push(worker);
  }
  const ours = (passes, keep) => Promise.all(pool.map((w) => ask(w, { cmd: 'run', passes, batch, keep })));
  const warm = performance.now();
  const first = await ours(1, true);
  const passes = Math.max(1, Math.ceil(minSeconds / ((performance.now() - warm) / 1000)));
  const mialabSeconds = await timed(() => ours(passes, false), repeats);
  const mialabOutputs = first.map((r) => Array.from(r.outputs)).flat();
  pool.forEach((w) => w.terminate());

  const ort = new Worker('ort-worker.js', { type: 'module' });
  await ask(ort, { cmd: 'load', model: model.slice().buffer, records: floats.buffer, recordShape: shape.slice(1), threads });
  const { outputs: ortOutputs } = await ask(ort, { cmd: 'run', passes: 1, batch, keep: true });
  const ortSeconds = await timed(() => ask(ort, { cmd: 'run', passes, batch, keep: false }), repeats);
  ort.terminate();

  let maxDiff = 0;
  mialabOutputs.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - ortOutputs[i]))));
  return {
    records: n,
    passes,
    engine: info.engine,
    flops: info.flops,
    mialab: (passes * n) / mialabSeconds,
    ort: (passes * n) / ortSeconds,
    outputs: [mialabOutputs.length, ortOutputs.length],
    maxDiff,
    spread: mialabOutputs.reduce((a, b) => Math.max(a, b), -Infinity) - mialabOutputs.reduce((a, b) => Math.min(a, b), Infinity),
    isolated: self.crossOriginIsolated,
  };
};

/** The message loading `bytes` as a model gives, or '' when it loads. */
window.loadError = async (bytes) => {
  const worker = new Worker('mialab-worker.js', { type: 'module' });
  try {
    await ask(worker, { cmd: 'load', model: new Uint8Array(bytes).buffer, records: new ArrayBuffer(0) });
    return '';
  } catch (error) {
    return String(error.message);
  } finally {
    worker.terminate();
  }
};
document.body.dataset.ready = 'yes';
