// One of mialab's benchmark workers: one wasm instance holding one model, running the
// slice of the records it is given, as a worker of a pool would in the page.
import init, { InferenceModel } from '/pkg/mialab.js';

let model = null;
let records = new Float32Array();

self.onmessage = async ({ data }) => {
  try {
    if (data.cmd === 'load') {
      await init();
      model = new InferenceModel(new Uint8Array(data.model));
      records = new Float32Array(data.records);
      self.postMessage({ engine: model.engine(), flops: model.flopsPerRecord(), width: model.outputWidth() });
    } else if (data.cmd === 'run') {
      let outputs = null;
      for (let pass = 0; pass < data.passes; pass += 1) outputs = model.run(records, data.batch);
      self.postMessage({ outputs: data.keep ? outputs : null });
    }
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};
