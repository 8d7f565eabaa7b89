// One reference model's training thread: a wasm instance of its own, so that models train on
// every core at once. The page sends {setup} once (the target, the records, the recipe), then
// {train: {index, keep}} per model (on `setup.device`: 'cpu' or 'webgpu'); this worker posts {index, epoch, epochs, loss} after
// every epoch and {index, result} or {index, error} at the end. Cancelling terminates it.
import init, { trainReference, trainReferenceOnGpu } from '../pkg/mialab.js';

const ready = init();
/** @type {any} */
let setup = null;

self.onmessage = async (event) => {
  const data = event.data;
  if (data.setup) {
    setup = data.setup;
    return;
  }
  const { index, keep } = data.train;
  try {
    await ready;
    if (!setup) throw new Error('the training worker got no records');
    const report = (/** @type {number} */ epoch, /** @type {number} */ epochs, /** @type {number} */ loss) =>
      self.postMessage({ index, epoch, epochs, loss });
    const result = setup.device === 'webgpu'
      ? await trainReferenceOnGpu(setup.model, setup.features, setup.labels, keep, setup.recipe, setup.seed, index, report)
      : trainReference(setup.model, setup.features, setup.labels, keep, setup.recipe, setup.seed, index, report);
    self.postMessage({ index, result }, [result.onnx.buffer]);
  } catch (error) {
    self.postMessage({ index, error: error instanceof Error ? error.message : String(error) });
  }
};
