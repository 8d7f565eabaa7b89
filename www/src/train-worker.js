// A reference-training thread: a wasm instance of its own, so that models train on every core
// at once. The page sends {setup} once (the target, the records, the recipe), then {train:
// {index, keep}} per model on the CPU, or {trainSet: {models, keep}} once on WebGPU, where
// every model trains in the same dispatches; this worker posts {index, epoch, epochs, loss}
// after every epoch and {index, result} or {index, error} at the end of each model ({error}
// alone when a whole set fails).
// Cancelling terminates it.
import init, { trainReference, trainReferencesOnGpu } from '../pkg/mialab.js';

const ready = init();
/** @type {any} */
let setup = null;

self.onmessage = async (event) => {
  const data = event.data;
  if (data.setup) {
    setup = data.setup;
    return;
  }
  const message = (/** @type {unknown} */ error) => (error instanceof Error ? error.message : String(error));
  if (data.trainSet) {
    const { models, keep } = data.trainSet;
    try {
      await ready;
      if (!setup) throw new Error('the training worker got no records');
      const report = (/** @type {number} */ index, /** @type {number} */ epoch, /** @type {number} */ epochs, /** @type {number} */ loss) =>
        self.postMessage({ index, epoch, epochs, loss });
      const results = await trainReferencesOnGpu(setup.model, setup.features, setup.labels, keep, models, setup.recipe, setup.seed, report);
      results.forEach((/** @type {any} */ result, /** @type {number} */ index) => self.postMessage({ index, result }, [result.onnx.buffer]));
    } catch (error) {
      self.postMessage({ error: message(error) });
    }
    return;
  }
  const { index, keep } = data.train;
  try {
    await ready;
    if (!setup) throw new Error('the training worker got no records');
    const report = (/** @type {number} */ epoch, /** @type {number} */ epochs, /** @type {number} */ loss) =>
      self.postMessage({ index, epoch, epochs, loss });
    const result = trainReference(setup.model, setup.features, setup.labels, keep, setup.recipe, setup.seed, index, report);
    self.postMessage({ index, result }, [result.onnx.buffer]);
  } catch (error) {
    self.postMessage({ index, error: message(error) });
  }
};
