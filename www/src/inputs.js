// Sections 1 and 2: choose a bundled demo or upload files, and see what was loaded. Every
// load goes to the engine; an error is shown next to the input that caused it and nothing
// already loaded is lost. After each change the engine says what every attack still lacks.
import { readNpy } from './npy.js';
import { imageRecords } from './images.js';
import { keepDemosOffline } from './offline.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/**
 * @param {import('./store.js').Store} store
 * @param {import('./engine.js').Engine} engine
 * @param {(step: string, done: number, total: number) => void} progress
 */
export function setupInputs(store, engine, progress) {
  const setError = (/** @type {string} */ id, /** @type {string} */ message) => {
    $(id).textContent = message || '';
  };

  /** Asks the engine what each attack lacks now. */
  async function changed() {
    let availability = store.get().availability;
    try {
      availability = await engine.call('availability');
    } catch {
      // the engine was stopped; the page shows nothing loaded
    }
    store.update({ availability });
  }

  async function readFile(/** @type {HTMLInputElement} */ input) {
    const file = input.files && input.files[0];
    if (!file) return null;
    return { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  }

  /** What the page showed for each demo whose Lab the worker set aside, by the worker it was in. */
  const demoViews = new Map();
  /** The demo whose Lab is current in the worker, and that worker's generation. */
  let current = { demo: /** @type {string | null} */ (null), generation: -1 };

  /** Changes the loaded inputs for an upload: the Lab stops standing for the demo it held. */
  async function mutate(/** @type {string} */ op, /** @type {any[]} */ args = []) {
    if (current.demo && current.generation === engine.generation) {
      demoViews.delete(current.demo);
      await engine.call('detachSession');
    }
    current = { demo: null, generation: engine.generation };
    const result = await engine.call(op, args);
    // Loading a model's inputs ends an audit of provided outputs: the engine starts afresh.
    if (store.get().model?.provided && !op.endsWith('Outputs') && op !== 'availability') store.clearInputs();
    return result;
  }

  /** Shows provided outputs as what is loaded: no model, their records, population, references. */
  function showOutputs(/** @type {string} */ name, /** @type {any} */ summary) {
    store.update({
      model: { name, provided: true, info: { output: summary.output, output_width: summary.classes } },
      records: summary.records,
      population: summary.population,
      references: summary.references,
      keep: summary.references ? { recordsWithoutIn: summary.recordsWithoutIn, recordsWithoutOut: summary.recordsWithoutOut } : null,
      pixels: null,
      demo: null,
    });
  }

  async function onUploadOutputs() {
    setError('upload-outputs-error', '');
    const file = await readFile($('upload-outputs'));
    if (!file) return;
    try {
      showOutputs(file.name, await mutate('loadOutputs', [file.bytes, file.name]));
    } catch (e) {
      setError('upload-outputs-error', `${file.name}: ${e.message}`);
    }
    await changed();
  }

  async function onUploadPopulationOutputs() {
    setError('upload-population-outputs-error', '');
    const file = await readFile($('upload-population-outputs'));
    if (!file) return;
    try {
      const outputs = store.get().model;
      showOutputs(outputs?.name ?? file.name, await mutate('loadPopulationOutputs', [file.bytes, file.name]));
    } catch (e) {
      setError('upload-population-outputs-error', `${file.name}: ${e.message}`);
    }
    await changed();
  }

  async function loadModelBytes(/** @type {Uint8Array} */ bytes, /** @type {string} */ name) {
    const info = await mutate('loadModel', [bytes, name]);
    store.update({ model: { name, info }, demo: null });
  }

  async function onUploadModel() {
    setError('upload-model-error', '');
    const file = await readFile($('upload-model'));
    if (!file) return;
    try {
      await loadModelBytes(file.bytes, file.name);
    } catch (e) {
      setError('upload-model-error', `${file.name}: ${e.message}`);
    }
    await changed();
  }

  async function onUploadRecords() {
    setError('upload-records-error', '');
    const input = $('upload-records');
    const file = input.files && input.files[0];
    if (!file) return;
    const schema = $('upload-schema').value;
    try {
      const records = await mutate('loadCsv', [false, file, schema || undefined]);
      store.update({ records, keep: null, pixels: null, demo: null });
    } catch (e) {
      setError('upload-records-error', e.message);
    }
    await changed();
  }

  async function onUploadNpy() {
    setError('upload-npy-error', '');
    const files = [...($('upload-npy').files || [])];
    if (files.length === 0) return;
    const find = (/** @type {string} */ word) => files.find((f) => f.name.toLowerCase().includes(word));
    const labels = find('label');
    const membership = find('member');
    const features = files.find((f) => f !== labels && f !== membership);
    if (!features || !labels) {
      setError('upload-npy-error', 'choose the features .npy and a labels .npy (a file name containing "label"); membership optional ("member")');
      return;
    }
    try {
      const bytes = async (/** @type {File | undefined} */ f) => (f ? new Uint8Array(await f.arrayBuffer()) : undefined);
      const featureBytes = await bytes(features);
      const records = await mutate('loadRecordsNpy', [false, features.name, featureBytes, await bytes(labels), await bytes(membership), undefined, undefined]);
      let pixels = null;
      if (records.recordShape.length === 3) {
        try {
          pixels = readNpy(featureBytes);
        } catch {
          // thumbnails only for uint8 or float32 images
        }
      }
      store.update({ records, keep: null, pixels, demo: null });
    } catch (e) {
      setError('upload-npy-error', e.message);
    }
    await changed();
  }

  async function onUploadImages() {
    setError('upload-images-error', '');
    const files = [...($('upload-images').files || [])];
    const labels = $('upload-image-labels').files?.[0] || null;
    if (files.length === 0) return;
    const zipped = files.some((f) => f.name.toLowerCase().endsWith('.zip'));
    if (!labels && !zipped) return;
    const { model, records: loaded } = store.get();
    if (!model) {
      setError('upload-images-error', 'load the model first: images are resized to its input');
      return;
    }
    try {
      const images = await imageRecords(engine, files, labels, model.info.record_shape, loaded?.classNames ?? null);
      const name = files.length === 1 ? files[0].name : `${files.length} images`;
      const records = await mutate('loadRecordsNpy', [false, name, images.features, images.labels, images.membership, images.ids, undefined]);
      store.update({ records, pixels: images.pixels, keep: null, demo: null });
    } catch (e) {
      setError('upload-images-error', e.message);
    }
    await changed();
  }

  async function onUploadPopulation() {
    setError('upload-population-error', '');
    const input = $('upload-population');
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      const population = await mutate('loadCsv', [true, file, $('upload-schema').value || undefined]);
      store.update({ population, demo: null });
    } catch (e) {
      setError('upload-population-error', e.message);
    }
    await changed();
  }

  async function onUploadPopulationNpy() {
    setError('upload-population-npy-error', '');
    const files = [...($('upload-population-npy').files || [])];
    if (files.length === 0) return;
    const labels = files.find((f) => f.name.toLowerCase().includes('label'));
    const features = files.find((f) => f !== labels);
    if (!features || !labels) {
      setError('upload-population-npy-error', 'choose the population features .npy and its labels .npy (a file name containing "label")');
      return;
    }
    try {
      const bytes = async (/** @type {File} */ f) => new Uint8Array(await f.arrayBuffer());
      const classes = store.get().records?.classNames ?? undefined;
      const population = await mutate('loadRecordsNpy', [true, features.name, await bytes(features), await bytes(labels), undefined, undefined, classes]);
      store.update({ population, demo: null });
    } catch (e) {
      setError('upload-population-npy-error', e.message);
    }
    await changed();
  }

  /**
   * Replaces the reference set with `files` (ONNX, in keep-mask column order) and their
   * keep-mask; on any error the set is left empty and the error thrown.
   */
  async function useReferences(/** @type {{name: string, bytes: Uint8Array}[]} */ files, /** @type {{name: string, bytes: Uint8Array} | null} */ keep) {
    await mutate('clearReferences');
    store.update({ references: 0, keep: null, demo: null });
    for (const file of files) {
      try {
        store.update({ references: await mutate('addReferenceModel', [file.bytes, file.name]) });
      } catch (e) {
        await mutate('clearReferences');
        store.update({ references: 0 });
        throw new Error(`${file.name}: ${e.message}`);
      }
    }
    if (keep) store.update({ keep: await mutate('loadKeepMask', [keep.bytes, keep.name]) });
    await changed();
  }

  /** Reference models as chosen: ONNX files, or a zip of them with its keep.npy (as the page's training writes it). */
  async function onUploadReferences() {
    setError('upload-references-error', '');
    const chosen = [...($('upload-references').files || [])];
    try {
      const files = [];
      let keep = null;
      for (const file of chosen) {
        const bytes = new Uint8Array(await file.arrayBuffer());
        if (!file.name.toLowerCase().endsWith('.zip')) {
          files.push({ name: file.name, bytes });
          continue;
        }
        for (const entry of await engine.call('unpackZip', [bytes, file.name])) {
          if (entry.name.toLowerCase().endsWith('.onnx')) files.push(entry);
          else if (/^keep\.(npy|csv)$/i.test(entry.name)) keep = entry;
        }
      }
      if (chosen.length > 0 && files.length === 0) throw new Error('no .onnx reference models were found');
      files.sort((a, b) => a.name.localeCompare(b.name));
      await useReferences(files, keep);
    } catch (e) {
      setError('upload-references-error', e.message);
      await changed();
    }
  }

  async function onUploadKeep() {
    setError('upload-keep-error', '');
    const file = await readFile($('upload-keep'));
    if (!file) return;
    try {
      store.update({ keep: await mutate('loadKeepMask', [file.bytes, file.name]), demo: null });
    } catch (e) {
      setError('upload-keep-error', e.message);
    }
    await changed();
  }

  async function fetchBytes(/** @type {string} */ path) {
    const response = await fetch(path);
    if (!response.ok) throw new Error(`${path}: ${response.status} ${response.statusText}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  async function loadManifest() {
    try {
      const response = await fetch('manifest.json');
      store.update({ manifest: await response.json() });
    } catch (e) {
      setError('demo-error', `the bundled demos could not be read: ${e.message}`);
      return;
    }
    const select = $('demo-select');
    for (const dataset of store.get().manifest.datasets) {
      const group = document.createElement('optgroup');
      group.label = dataset.title;
      for (const target of dataset.targets) {
        const option = document.createElement('option');
        option.value = `${dataset.name}/${target.name}`;
        const dp = target.dp ? `, DP-SGD ε=${target.dp.epsilon.toFixed(2)}` : '';
        option.textContent = `${dataset.name}/${target.name} (train ${(100 * target.train_accuracy).toFixed(1)}%, test ${(100 * target.test_accuracy).toFixed(1)}%${dp})`;
        group.append(option);
      }
      select.append(group);
    }
    describeDemo();
  }

  function demoTarget(/** @type {string} */ name) {
    for (const dataset of store.get().manifest?.datasets ?? []) {
      for (const target of dataset.targets) {
        if (`${dataset.name}/${target.name}` === name) return { dataset, target };
      }
    }
    return null;
  }

  function describeDemo() {
    const found = demoTarget($('demo-select').value);
    if (!found) return;
    const { dataset, target } = found;
    const refs = dataset.reference_sets.find((/** @type {any} */ r) => r.recipe === target.references);
    $('demo-description').textContent = `${dataset.title}: ${dataset.audit.count} audit records (half of them trained the model), ${dataset.population.count} population records, ${refs ? refs.count : 0} reference models. ${dataset.architecture}.`;
  }

  /**
   * Loads a bundled target (`dataset/target`) with its audit records, population and, when
   * `withReferences`, its reference set, replacing whatever was loaded. A demo already
   * loaded (with its references, when they are wanted) is kept with its cached signals.
   * @param {string} name
   * @param {boolean} withReferences
   */
  async function loadDemo(name, withReferences) {
    const found = demoTarget(name);
    if (!found) throw new Error(`no bundled demo called ${name}`);
    keepDemosOffline();
    const loaded = store.get().demo;
    if (loaded && loaded.name === name && (loaded.references || !withReferences)) return;
    const { dataset, target } = found;
    // A demo replaces whatever still runs (the worker, and the demos it set aside, with it).
    if (engine.running()) engine.cancel();
    const kept = demoViews.get(name);
    const usable = kept && kept.generation === engine.generation && (kept.view.demo.references || !withReferences);
    const { resumed, dropped } = await engine.call('switchSession', [name, !usable]);
    for (const key of dropped) demoViews.delete(key);
    current = { demo: name, generation: engine.generation };
    if (usable && resumed) {
      // Set aside earlier with its signals: nothing to fetch, parse or run again.
      store.update(kept.view);
      $('demo-select').value = name;
      describeDemo();
      progress('demo loaded (kept from before)', 1, 1);
      await changed();
      return;
    }
    store.clearInputs();
    progress('downloading the demo', 0, 1);
    store.update({ model: { name: target.model, info: await engine.call('loadModel', [await fetchBytes(target.model), target.model]) } });
    const ids = await fetchBytes(dataset.audit.ids);
    const features = await fetchBytes(dataset.audit.features);
    const pixels = dataset.input.shape.length === 3 ? readNpy(features) : null;
    const records = await engine.call('loadRecordsNpy', [false, dataset.audit.features, features, await fetchBytes(dataset.audit.labels), await fetchBytes(target.members), ids, dataset.classes]);
    const population = await engine.call('loadRecordsNpy', [true, dataset.population.features, await fetchBytes(dataset.population.features), await fetchBytes(dataset.population.labels), undefined, await fetchBytes(dataset.population.ids), dataset.classes]);
    store.update({ records, population, pixels });
    const refs = dataset.reference_sets.find((/** @type {any} */ r) => r.recipe === target.references);
    if (refs && withReferences) {
      let references = 0;
      for (const [i, m] of refs.models.entries()) {
        progress('loading reference models', i, refs.models.length);
        references = await engine.call('addReferenceModel', [await fetchBytes(m.model), m.model]);
      }
      const keep = await engine.call('loadKeepMask', [await fetchBytes(refs.keep_mask), refs.keep_mask]);
      store.update({ references, keep });
    }
    progress('demo loaded', 1, 1);
    $('demo-select').value = name;
    describeDemo();
    store.update({ demo: { name, references: Boolean(refs && withReferences) } });
    const { model, records: r, population: p, references: n, keep: k, pixels: px, demo } = store.get();
    demoViews.set(name, { generation: engine.generation, view: { model, records: r, population: p, references: n, keep: k, pixels: px, demo } });
    await changed();
  }

  async function onLoadDemo() {
    setError('demo-error', '');
    const button = $('demo-load');
    button.disabled = true;
    try {
      await loadDemo($('demo-select').value, true);
    } catch (e) {
      setError('demo-error', e.message);
    } finally {
      button.disabled = false;
      await changed();
    }
  }

  // Choosing the same file again must load it again (it may have changed on disk): a file
  // input fires no change for an unchanged value, so the value is cleared as the picker opens.
  for (const input of document.querySelectorAll('#choose input[type=file]')) {
    input.addEventListener('click', () => {
      /** @type {HTMLInputElement} */ (input).value = '';
    });
  }
  // A schema typed after the CSV files re-reads them with it.
  $('upload-schema').addEventListener('change', async () => {
    const { records, population, demo } = store.get();
    const chosen = (/** @type {string} */ id) => $(id).files && $(id).files[0];
    // The chosen file is read again unless other records (a demo, NumPy files) replaced it since.
    const mine = (/** @type {any} */ loaded, /** @type {string} */ id) => !demo && chosen(id) && (!loaded || loaded.source === chosen(id).name);
    if (mine(records, 'upload-records')) await onUploadRecords();
    if (mine(population, 'upload-population')) await onUploadPopulation();
  });
  $('upload-model').addEventListener('change', onUploadModel);
  $('upload-records').addEventListener('change', onUploadRecords);
  $('upload-population').addEventListener('change', onUploadPopulation);
  $('upload-population-npy').addEventListener('change', onUploadPopulationNpy);
  $('upload-npy').addEventListener('change', onUploadNpy);
  $('upload-images').addEventListener('change', onUploadImages);
  $('upload-image-labels').addEventListener('change', onUploadImages);
  $('upload-references').addEventListener('change', onUploadReferences);
  $('upload-keep').addEventListener('change', onUploadKeep);
  $('upload-outputs').addEventListener('change', onUploadOutputs);
  $('upload-population-outputs').addEventListener('change', onUploadPopulationOutputs);
  $('demo-select').addEventListener('change', describeDemo);
  $('demo-load').addEventListener('click', onLoadDemo);
  store.subscribe(renderLoaded);
  return { loadManifest, loadDemo, changed, useReferences };
}

/** Section 2: what is loaded, in words. @param {import('./store.js').State} state */
function renderLoaded(state) {
  const dl = $('loaded-summary');
  dl.replaceChildren();
  const add = (/** @type {string} */ term, /** @type {string} */ text) => {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = text;
    dl.append(dt, dd);
  };
  if (state.model?.provided) {
    add('Model', `none runs here: the target's outputs from ${state.model.name} (${state.model.info.output}, ${state.model.info.output_width} classes)`);
  } else if (state.model) {
    const m = state.model;
    add('Model', `${m.name}: input ${m.info.input.name} (one record: ${JSON.stringify(m.info.record_shape)}), output ${m.info.used_output}, ${Math.max(2, m.info.output_width)} classes, ${m.info.parameters.toLocaleString()} parameters`);
    for (const rewrite of m.info.rewrites || []) add('Rewritten', rewrite);
  } else add('Model', 'none yet');
  if (state.records) {
    const r = state.records;
    const membership = r.members === null || r.members === undefined ? 'membership unknown (records are ranked, not measured)' : `${r.members} members, ${r.nonMembers} non-members`;
    add('Audit records', `${r.records} records of shape ${JSON.stringify(r.recordShape)} from ${r.source}; ${membership}${r.classNames ? `; classes ${r.classNames.join(', ')}` : ''}`);
  } else add('Audit records', 'none yet');
  add('Population', state.population ? `${state.population.records} known non-members from ${state.population.source}` : 'none (thresholds are cross-fitted on halves of the audit records)');
  add('Reference models', state.references ? `${state.references} models${state.keep ? `; keep-mask: ${state.keep.recordsWithoutIn} records without an IN model, ${state.keep.recordsWithoutOut} without an OUT model` : '; keep-mask missing'}` : 'none (reference attacks unavailable)');
}
