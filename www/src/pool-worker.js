// One of the audit's model threads: a wasm instance of its own, so that the target and its
// reference models run on every core before the audit (src/web/pool_audit.rs). The audit's
// worker sends {id, keep, load, sets, runs, batch, queries}: the models this thread should
// hold (by key; others are freed), the ONNX bytes of those it lacks, the record sets, the
// (model key, set) runs to make, and perhaps parts of the target-only queries to make after
// them (src/web/query_parts.rs). It posts {id, done} after each run, then {id, outputs, sums}
// (one Float32Array per run and one Uint32Array per query part range, in order) or
// {id, error}. Sent {id, score: {signals, config, attacks}}
// instead, it scores those attacks of the audit over its signals file and posts {id, scored}
// (src/web/split_audit.rs).
import init, { InferenceModel, QueryMaker, scoreForAudit } from '../pkg/mialab.js';

const ready = init();
/** @type {Map<string, InferenceModel>} */
const models = new Map();

self.onmessage = async (event) => {
  const { id, keep, load, sets, runs, batch, queries, score } = event.data;
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
    const sums = queries ? makeQueryParts(sets, queries) : [];
    self.postMessage({ id, outputs, sums }, [...outputs, ...sums].map((o) => o.buffer));
  } catch (error) {
    self.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};

/** Makes `queries.parts` ({kind, set, start, end} ranges) of the audit's target-only queries: one Uint32Array of sums per range. */
function makeQueryParts(/** @type {Float32Array[]} */ sets, /** @type {{target: Uint8Array, config: string, labels: Uint32Array[], parts: {kind: string, set: number, start: number, end: number}[]}} */ queries) {
  const maker = new QueryMaker(queries.target, queries.config);
  try {
    sets.forEach((features, set) => maker.addSet(features, queries.labels[set]));
    return queries.parts.map((part) => maker.make(part.kind, part.set, part.start, part.end));
  } finally {
    maker.free();
  }
}
