// One of the audit's model threads: a wasm instance of its own, so that the target and its
// reference models run on every core before the audit (src/web/pool_audit.rs). The audit's
// worker sends {id, keep, load, sets, runs, batch}: the models this thread should hold
// (by key; others are freed), the ONNX bytes of those it lacks, the record sets, and the
// (model key, set) runs to make. It posts {id, done} after each run, then {id, outputs} (one
// Float32Array per run, in order) or {id, error}. Sent {id, score: {signals, config, attacks}}
// instead, it scores those attacks of the audit over its signals file and posts {id, scored}
// (src/web/split_audit.rs).
import init, { InferenceModel, scoreForAudit } from '../pkg/mialab.js';

const ready = init();
/** @type {Map<string, InferenceModel>} */
const models = new Map();

self.onmessage = async (event) => {
  const { id, keep, load, sets, runs, batch, score } = event.data;
  try {
    await ready;
    if (score) {
      self.postMessage({ id, scored: scoreForAudit(score.signals, score.config, score.attacks) });
      return;
    }
    for (const [key, model] of models) {
      if (keep.includes(key)) continue;
      model.free();
      models.delete(key);
    }
    for (const { key, bytes } of load) models.set(key, new InferenceModel(bytes));
    const outputs = [];
    for (const { key, set } of runs) {
      const model = models.get(key);
      if (!model) throw new Error(`this model worker was not sent model ${key}`);
      outputs.push(model.run(sets[set], batch));
      self.postMessage({ id, done: outputs.length });
    }
    self.postMessage({ id, outputs }, outputs.map((o) => o.buffer));
  } catch (error) {
    self.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
