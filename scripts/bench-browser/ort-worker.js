// The onnxruntime-web side of the benchmark: its wasm backend (SIMD, with its own thread
// pool when the page is cross-origin isolated) over all the records, batch by batch.
import * as ort from '/ort/ort.wasm.min.mjs';

let session = null;
let records = new Float32Array();
let recordShape = [];

self.onmessage = async ({ data }) => {
  try {
    if (data.cmd === 'load') {
      ort.env.wasm.wasmPaths = '/ort/';
      ort.env.wasm.numThreads = data.threads;
      ort.env.wasm.proxy = false;
      session = await ort.InferenceSession.create(new Uint8Array(data.model), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      records = new Float32Array(data.records);
      recordShape = data.recordShape;
      self.postMessage({ inputs: session.inputNames, outputs: session.outputNames });
    } else if (data.cmd === 'run') {
      const perRecord = recordShape.reduce((a, b) => a * b, 1);
      const n = records.length / perRecord;
      const input = session.inputNames[0];
      let kept = null;
      for (let pass = 0; pass < data.passes; pass += 1) {
        const parts = [];
        for (let first = 0; first < n; first += data.batch) {
          const count = Math.min(data.batch, n - first);
          const tensor = new ort.Tensor('float32', records.subarray(first * perRecord, (first + count) * perRecord), [count, ...recordShape]);
          const result = await session.run({ [input]: tensor });
          if (data.keep) parts.push(result[session.outputNames[0]].data.slice());
        }
        if (data.keep) {
          kept = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
          let at = 0;
          for (const p of parts) { kept.set(p, at); at += p.length; }
        }
      }
      self.postMessage({ outputs: kept });
    }
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};
