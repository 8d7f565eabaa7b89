// "No reference models? Train them here": K copies of the target's architecture trained in
// the page on halves of the audit records, in a pool of Web Workers (one wasm instance each,
// one per core by default), with progress and a loss curve per model. Nothing leaves the
// machine. When every model is trained they are loaded as the reference set with their
// keep-mask and can be downloaded as a zip (ONNX files, keep.npy, training.json) to upload
// next time. Cancelling stops the workers; what was loaded before stays as it was.

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const SVG = 'http://www.w3.org/2000/svg';

/**
 * @param {import('./store.js').Store} store
 * @param {import('./engine.js').Engine} engine
 * @param {{useReferences: (files: {name: string, bytes: Uint8Array}[], keep: {name: string, bytes: Uint8Array}) => Promise<void>}} inputs
 */
export function setupTraining(store, engine, inputs) {
  /** @type {Worker[]} */
  let workers = [];
  /** The last set trained: its files and log, for the download. */
  let trained = /** @type {{files: {name: string, bytes: Uint8Array}[], log: any} | null} */ (null);

  const status = (/** @type {string} */ text) => {
    $('train-status').textContent = text;
  };
  const error = (/** @type {string} */ text) => {
    $('train-error').textContent = text;
  };

  function stopWorkers() {
    for (const w of workers) w.terminate();
    workers = [];
    $('train-start').disabled = false;
    $('train-cancel').disabled = true;
  }

  /** The recipe the form asks for (blank epochs: the architecture's default). */
  function recipe() {
    const number = (/** @type {string} */ id) => Number($(id).value);
    const epochs = $('train-epochs').value.trim();
    return {
      optimizer: $('train-optimizer').value,
      epochs: epochs === '' ? null : Number(epochs),
      batch_size: number('train-batch'),
      learning_rate: number('train-lr'),
      weight_decay: number('train-weight-decay'),
    };
  }

  /** One row per model: its progress, last loss and loss curve. */
  function modelRows(/** @type {number} */ count) {
    const list = $('train-models');
    list.replaceChildren();
    const rows = [];
    for (let k = 0; k < count; k++) {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.textContent = `model ${k}: waiting`;
      const bar = document.createElement('progress');
      bar.max = 1;
      bar.value = 0;
      bar.setAttribute('aria-label', `model ${k}`);
      const svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('viewBox', '0 0 100 24');
      svg.setAttribute('class', 'loss-curve');
      svg.setAttribute('role', 'img');
      svg.setAttribute('aria-label', `training loss of model ${k}`);
      const line = document.createElementNS(SVG, 'polyline');
      svg.append(line);
      li.append(label, bar, svg);
      list.append(li);
      rows.push({ label, bar, line, losses: /** @type {number[]} */ ([]) });
    }
    return rows;
  }

  function drawCurve(/** @type {any} */ row, /** @type {number} */ epochs) {
    const losses = row.losses;
    const max = Math.max(...losses, 1e-9);
    const points = losses.map((/** @type {number} */ l, /** @type {number} */ i) =>
      `${((i + 1) / Math.max(1, epochs)) * 100},${24 - (l / max) * 22}`);
    row.line.setAttribute('points', points.join(' '));
  }

  /**
   * Where `chosen` ('auto', 'cpu', 'webgpu') trains, and in words: auto takes WebGPU on a
   * hardware adapter when the GPU can train the model (`gpuUnable` null), else the CPU and
   * says why; 'webgpu' fails when the GPU cannot train the model.
   */
  async function trainingDevice(/** @type {string} */ chosen, /** @type {string | null} */ gpuUnable) {
    if (chosen === 'cpu') return { device: 'cpu', where: 'the CPU' };
    if (chosen === 'webgpu') {
      if (gpuUnable) throw new Error(`WebGPU cannot train this model: ${gpuUnable}`);
      return { device: 'webgpu', where: 'WebGPU' };
    }
    if (gpuUnable) return { device: 'cpu', where: `the CPU, because ${gpuUnable}` };
    const gpu = await engine.call('webgpuAdapter');
    if (gpu.reason) return { device: 'cpu', where: `the CPU, because ${gpu.reason}` };
    if (gpu.software) return { device: 'cpu', where: `the CPU, because the only WebGPU adapter, ${gpu.adapter}, is a software one (slower than the CPU)` };
    return { device: 'webgpu', where: `WebGPU (${gpu.adapter})` };
  }

  async function start() {
    error('');
    status('');
    const models = Number($('train-k').value);
    const seed = Number($('train-seed').value) >>> 0;
    let threads = Math.max(1, Math.min(models, Number($('train-workers').value) || 1));
    const chosen = /** @type {HTMLSelectElement} */ ($('train-device')).value;
    let setup;
    try {
      setup = await engine.call('trainingSetup', [JSON.stringify(recipe()), models, seed]);
    } catch (e) {
      error(e.message);
      return;
    }
    let device;
    let where;
    try {
      ({ device, where } = await trainingDevice(chosen, setup.gpuUnable));
    } catch (e) {
      error(e.message);
      return;
    }
    // On WebGPU every model trains in the same dispatches, from one worker.
    if (device === 'webgpu') threads = 1;
    $('train-start').disabled = true;
    $('train-cancel').disabled = false;
    $('train-download').disabled = true;
    const rows = modelRows(models);
    const started = performance.now();
    status(`training ${models} models (${setup.architecture}, ${setup.parameters.toLocaleString()} parameters, ${setup.epochs} epochs) on halves of ${setup.records} records, ${device === 'webgpu' ? 'all in the same dispatches' : `${threads} at a time`}, on ${where}`);
    /** @type {any[]} */
    const results = new Array(models);
    let next = 0;
    let finished = 0;
    const run = new Promise((resolve, reject) => {
      const give = (/** @type {Worker} */ worker) => {
        if (next >= models) return;
        if (device === 'webgpu') {
          next = models;
          rows.forEach((row, k) => { row.label.textContent = `model ${k}: starting`; });
          worker.postMessage({ trainSet: { models, keep: setup.keepRows } });
          return;
        }
        const index = next++;
        rows[index].label.textContent = `model ${index}: starting`;
        worker.postMessage({ train: { index, keep: setup.keepRows.slice(index * setup.records, (index + 1) * setup.records) } });
      };
      for (let w = 0; w < threads; w++) {
        const worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
        worker.onmessage = (event) => {
          const data = event.data;
          const row = rows[data.index];
          if (data.error) {
            reject(new Error(data.index === undefined ? data.error : `model ${data.index}: ${data.error}`));
          } else if (data.result) {
            results[data.index] = data.result;
            row.bar.value = 1;
            const a = data.result.accuracy;
            row.label.textContent = `model ${data.index}: done, train accuracy ${(100 * a.train).toFixed(1)}%, held out ${(100 * a.held_out).toFixed(1)}%`;
            finished += 1;
            if (finished === models) resolve(results);
            else give(worker);
          } else {
            row.losses.push(data.loss);
            row.bar.value = data.epoch / data.epochs;
            row.label.textContent = `model ${data.index}: epoch ${data.epoch}/${data.epochs}, loss ${data.loss.toFixed(4)}`;
            drawCurve(row, data.epochs);
          }
        };
        worker.onerror = (event) => reject(new Error(`a training worker stopped: ${event.message || 'unknown error'}`));
        worker.postMessage({ setup: { model: setup.model, features: setup.features, labels: setup.labels, recipe: JSON.stringify(recipe()), seed, device } });
        workers.push(worker);
        give(worker);
      }
    });
    let done;
    try {
      done = await run;
    } catch (e) {
      stopWorkers();
      error(`${e.message}; nothing was added, what was loaded is unchanged`);
      return;
    }
    stopWorkers();
    const seconds = (performance.now() - started) / 1000;
    const width = Math.max(2, String(models - 1).length);
    const files = done.map((/** @type {any} */ r, /** @type {number} */ k) => ({ name: `ref-${String(k).padStart(width, '0')}.onnx`, bytes: r.onnx }));
    const keep = { name: 'keep.npy', bytes: setup.keepNpy };
    try {
      await inputs.useReferences(files, keep);
      const match = await engine.call('recipeMatch', [JSON.stringify(done.map((/** @type {any} */ r) => r.accuracy))]);
      const trainedRecords = setup.keepRows.reduce((/** @type {number} */ s, /** @type {number} */ v) => s + v, 0);
      const log = {
        models, seed, recipe: recipe(), epochs: setup.epochs, device: where, seconds,
        records_epochs_per_second: (trainedRecords * setup.epochs) / seconds,
        recipe_match: match,
        references: done.map((/** @type {any} */ r, /** @type {number} */ k) => ({ file: files[k].name, accuracy: r.accuracy, losses: r.losses })),
      };
      trained = { files: [...files, keep], log };
      showMatch(match);
      status(`trained ${models} reference models in ${seconds.toFixed(1)} s (${Math.round(log.records_epochs_per_second).toLocaleString()} records×epochs/s); they are loaded as the reference set`);
      $('train-download').disabled = false;
    } catch (e) {
      error(e.message);
    }
  }

  /** The references' accuracies beside the target's, and the warning when they differ. */
  function showMatch(/** @type {any} */ m) {
    const pct = (/** @type {number | null} */ v) => (v === null || v === undefined ? 'unknown' : `${(100 * v).toFixed(1)}%`);
    const table = $('train-match');
    table.replaceChildren();
    const row = (/** @type {string[]} */ cells, header = false) => {
      const tr = document.createElement('tr');
      for (const c of cells) {
        const cell = document.createElement(header ? 'th' : 'td');
        cell.textContent = c;
        tr.append(cell);
      }
      table.append(tr);
    };
    row(['accuracy', 'references (mean)', 'target'], true);
    row(['on their training records / the target\u2019s members', pct(m.references_train), pct(m.target_members)]);
    row(['on the other records / its non-members', pct(m.references_held_out), pct(m.target_non_members)]);
    row(['on every audit record', pct(m.references_audit), pct(m.target_audit)]);
    table.hidden = false;
    $('train-warning').textContent = m.warning ? `Warning: ${m.warning}` : '';
  }

  async function download() {
    if (!trained) return;
    const log = new TextEncoder().encode(JSON.stringify(trained.log, null, 2) + '\n');
    const all = [...trained.files, { name: 'training.json', bytes: log }];
    try {
      const zip = await engine.call('zipFiles', [all.map((f) => f.name), all.map((f) => f.bytes)]);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([zip], { type: 'application/zip' }));
      link.download = 'mialab-references.zip';
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (e) {
      error(e.message);
    }
  }

  function cancel() {
    stopWorkers();
    status('cancelled: no model was added, what was loaded is unchanged');
  }

  $('train-workers').value = String(navigator.hardwareConcurrency || 1);
  $('train-start').addEventListener('click', start);
  $('train-cancel').addEventListener('click', cancel);
  $('train-download').addEventListener('click', download);
  store.subscribe((state) => {
    const ready = Boolean(state.model && !state.model.provided && state.records);
    $('train').hidden = !ready;
  });
}
