// The page: choose a demo or upload files, see what was loaded, pick attacks, read the
// results. Every engine call goes to the worker (engine.js); errors are shown next to the
// input that caused them and nothing already loaded is lost.
import { Engine } from './engine.js';
import { rocChart, histogramChart } from './charts.js';
import { readNpy } from './npy.js';
import { imageRecords, thumbnail } from './images.js';
import { setupWorkshop } from './workshop.js';

const $ = (id) => /** @type {any} */ (document.getElementById(id));
const engine = new Engine();

const state = {
  /** @type {any[]} */ catalogue: [],
  /** @type {any} */ manifest: null,
  model: null,
  records: null,
  population: null,
  references: 0,
  keep: null,
  signalsFresh: false,
  /** @type {any} */ result: null,
  /** Pixels of image records, for thumbnails. @type {any} */ pixels: null,
  signalsSeconds: 0,
  attackSeconds: 0,
  busy: false,
};

function setError(id, message) {
  const el = $(id);
  el.textContent = message || '';
}

function formatPct(v) {
  return v === null || v === undefined ? 'n/m' : `${(100 * v).toFixed(2)}%`;
}

function inputsChanged() {
  state.signalsFresh = false;
  renderLoaded();
  renderAttackAvailability();
}

// ---------- 2. what was loaded ----------
function renderLoaded() {
  const dl = $('loaded-summary');
  dl.replaceChildren();
  const add = (term, text) => {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = text;
    dl.append(dt, dd);
  };
  if (state.model) {
    const m = state.model;
    add('Model', `${m.name}: input ${m.info.input.name} (one record: ${JSON.stringify(m.info.record_shape)}), output ${m.info.used_output}, ${Math.max(2, m.info.output_width)} classes, ${m.info.parameters.toLocaleString()} parameters`);
  } else add('Model', 'none yet');
  if (state.records) {
    const r = state.records;
    const membership = r.members === null || r.members === undefined ? 'membership unknown (records are ranked, not measured)' : `${r.members} members, ${r.nonMembers} non-members`;
    add('Audit records', `${r.records} records of shape ${JSON.stringify(r.recordShape)} from ${r.source}; ${membership}${r.classNames ? `; classes ${r.classNames.join(', ')}` : ''}`);
  } else add('Audit records', 'none yet');
  add('Population', state.population ? `${state.population.records} known non-members from ${state.population.source}` : 'none (thresholds are chosen on the audit set and marked optimistic)');
  add('Reference models', state.references ? `${state.references} models${state.keep ? `; keep-mask: ${state.keep.recordsWithoutIn} records without an IN model, ${state.keep.recordsWithoutOut} without an OUT model` : '; keep-mask missing'}` : 'none (reference attacks unavailable)');
  $('run').disabled = state.busy || !(state.model && state.records);
  $('webgpu-check').disabled = state.busy || !(state.model && state.records);
}

// ---------- engine: the WebGPU check ----------
const WEBGPU_CHECK_RECORDS = 200;
async function onWebgpuCheck() {
  setError('webgpu-error', '');
  $('webgpu-result').textContent = 'running the model on WebGPU and on tract…';
  state.busy = true;
  renderLoaded();
  try {
    const r = await engine.call('webgpuCheck', [WEBGPU_CHECK_RECORDS]);
    if (!r.available) {
      $('webgpu-result').textContent = `WebGPU not used: ${r.reason}. The audit runs on tract (CPU).`;
      return;
    }
    const rate = (v) => Math.round(v).toLocaleString();
    $('webgpu-result').textContent =
      `WebGPU adapter: ${r.adapter}${r.software ? ' (a software adapter on the CPU)' : ''}. ` +
      `${r.models} model${r.models > 1 ? 's' : ''} × ${r.records} records through ${r.kernels}: WebGPU ${r.gpuSeconds.toFixed(2)} s (${rate(r.gpuRate)} records×models/s, all models per dispatch), ` +
      `tract ${r.cpuSeconds.toFixed(2)} s (${rate(r.cpuRate)} records×models/s); ` +
      `largest difference between their outputs ${r.maxAbsDiff.toExponential(2)}.`;
    $('webgpu-result').dataset.maxAbsDiff = String(r.maxAbsDiff);
  } catch (e) {
    $('webgpu-result').textContent = '';
    setError('webgpu-error', e.message);
  } finally {
    state.busy = false;
    renderLoaded();
  }
}

// ---------- 3. attacks ----------
function renderAttackList() {
  const list = $('attack-list');
  list.replaceChildren();
  for (const info of state.catalogue) {
    const label = document.createElement('label');
    label.className = 'attack';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.value = info.id;
    box.checked = true;
    box.id = `attack-${info.id}`;
    const title = document.createElement('strong');
    title.textContent = `${info.title} `;
    const id = document.createElement('code');
    id.textContent = info.id;
    const needs = document.createElement('span');
    needs.className = 'needs';
    needs.dataset.attack = info.id;
    const summary = document.createElement('span');
    summary.className = 'summary';
    summary.textContent = info.summary;
    const paper = document.createElement('span');
    paper.className = 'paper';
    paper.textContent = info.paper;
    label.append(box, title, id, needs, summary, paper);
    list.append(label);
  }
  renderAttackAvailability();
}

function missingFor(info) {
  const missing = [];
  if (info.needs_population && !state.population) missing.push('population records');
  if (info.references !== 'not-used' && !(state.references && state.keep)) missing.push('reference models and a keep-mask');
  return missing;
}

function renderAttackAvailability() {
  for (const info of state.catalogue) {
    const box = $(`attack-${info.id}`);
    const needs = document.querySelector(`.needs[data-attack="${info.id}"]`);
    const missing = missingFor(info);
    box.disabled = missing.length > 0;
    if (missing.length > 0) box.checked = false;
    else if (box.dataset.touched !== 'yes') box.checked = true;
    needs.textContent = missing.length ? ` needs ${missing.join(' and ')}` : '';
  }
}

function chosenAttacks() {
  return state.catalogue.map((i) => $(`attack-${i.id}`)).filter((b) => b.checked && !b.disabled).map((b) => b.value);
}

function config() {
  const a = $('param-rmia-a').value.trim();
  return {
    attacks: chosenAttacks(),
    seed: Number($('param-seed').value) || 0,
    rmiaA: a === 'tune' ? 'tune' : Number(a),
    rmiaGamma: Number($('param-rmia-gamma').value),
    liraVariance: $('param-lira-variance').value,
    defences: chosenDefences(),
  };
}

/** The defence picked in the form, as the CLI's `--defence` writes it. */
function chosenDefences() {
  const kind = $('defence-kind').value;
  if (!kind) return [];
  if (kind === 'top1') return ['top1'];
  return [`${kind}:${$('defence-value').value.trim()}`];
}

const DEFENCE_DEFAULTS = { topk: '1', round: '2', temperature: '2', noise: '0.05' };

function onDefenceChange() {
  const kind = $('defence-kind').value;
  $('defence-value').disabled = !kind || kind === 'top1';
  if (DEFENCE_DEFAULTS[kind] && $('defence-value').dataset.kind !== kind) $('defence-value').value = DEFENCE_DEFAULTS[kind];
  $('defence-value').dataset.kind = kind;
  // The defence changes the target's answers: the signals must be computed again.
  state.signalsFresh = false;
}

// ---------- 1. loading ----------
async function readFile(input) {
  const file = input.files && input.files[0];
  if (!file) return null;
  return { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
}

async function loadModelBytes(bytes, name) {
  const info = await engine.call('loadModel', [bytes, name]);
  state.model = { name, info };
}

function recordsSummary(s) {
  return { ...s, recordShape: s.recordShape, nonMembers: s.nonMembers };
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
  inputsChanged();
}

async function onUploadRecords() {
  setError('upload-records-error', '');
  const file = await readFile($('upload-records'));
  if (!file) return;
  const schema = $('upload-schema').value;
  try {
    state.records = recordsSummary(await engine.call('loadRecordsCsv', [file.bytes, file.name, schema || undefined]));
    state.keep = null;
    state.pixels = null;
  } catch (e) {
    setError('upload-records-error', e.message);
  }
  inputsChanged();
}

async function onUploadNpy() {
  setError('upload-npy-error', '');
  const files = [...($('upload-npy').files || [])];
  if (files.length === 0) return;
  const find = (word) => files.find((f) => f.name.toLowerCase().includes(word));
  const labels = find('label');
  const membership = find('member');
  const features = files.find((f) => f !== labels && f !== membership);
  if (!features || !labels) {
    setError('upload-npy-error', 'choose the features .npy and a labels .npy (a file name containing "label"); membership optional ("member")');
    return;
  }
  try {
    const bytes = async (f) => (f ? new Uint8Array(await f.arrayBuffer()) : undefined);
    const featureBytes = await bytes(features);
    state.records = await engine.call('loadRecordsNpy', [false, features.name, featureBytes, await bytes(labels), await bytes(membership), undefined, undefined]);
    state.keep = null;
    state.pixels = null;
    if (state.records.recordShape.length === 3) {
      try {
        state.pixels = readNpy(featureBytes);
      } catch {
        // thumbnails only for uint8 or float32 images
      }
    }
  } catch (e) {
    setError('upload-npy-error', e.message);
  }
  inputsChanged();
}

async function onUploadImages() {
  setError('upload-images-error', '');
  const files = [...($('upload-images').files || [])];
  const labels = $('upload-image-labels').files?.[0] || null;
  if (files.length === 0) return;
  const zipped = files.some((f) => f.name.toLowerCase().endsWith('.zip'));
  if (!labels && !zipped) return;
  if (!state.model) {
    setError('upload-images-error', 'load the model first: images are resized to its input');
    return;
  }
  try {
    const classes = state.records?.classNames ?? null;
    const images = await imageRecords(files, labels, state.model.info.record_shape, classes);
    state.records = await engine.call('loadRecordsNpy', [false, files.length === 1 ? files[0].name : `${files.length} images`, images.features, images.labels, images.membership, images.ids, undefined]);
    state.pixels = images.pixels;
    state.keep = null;
  } catch (e) {
    setError('upload-images-error', e.message);
  }
  inputsChanged();
}

async function onUploadPopulation() {
  setError('upload-population-error', '');
  const file = await readFile($('upload-population'));
  if (!file) return;
  try {
    state.population = recordsSummary(await engine.call('loadPopulationCsv', [file.bytes, file.name, $('upload-schema').value || undefined]));
  } catch (e) {
    setError('upload-population-error', e.message);
  }
  inputsChanged();
}

async function onUploadReferences() {
  setError('upload-references-error', '');
  const input = $('upload-references');
  const files = [...(input.files || [])].sort((a, b) => a.name.localeCompare(b.name));
  await engine.call('clearReferences');
  state.references = 0;
  state.keep = null;
  for (const file of files) {
    try {
      state.references = await engine.call('addReferenceModel', [new Uint8Array(await file.arrayBuffer()), file.name]);
    } catch (e) {
      setError('upload-references-error', `${file.name}: ${e.message}`);
      await engine.call('clearReferences');
      state.references = 0;
      break;
    }
  }
  inputsChanged();
}

async function onUploadKeep() {
  setError('upload-keep-error', '');
  const file = await readFile($('upload-keep'));
  if (!file) return;
  try {
    state.keep = await engine.call('loadKeepMask', [file.bytes, file.name]);
  } catch (e) {
    setError('upload-keep-error', e.message);
  }
  inputsChanged();
}

async function fetchBytes(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function loadManifest() {
  try {
    const response = await fetch('manifest.json');
    state.manifest = await response.json();
  } catch (e) {
    setError('demo-error', `the bundled demos could not be read: ${e.message}`);
    return;
  }
  const select = $('demo-select');
  for (const dataset of state.manifest.datasets) {
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

function demoTarget(name) {
  for (const dataset of state.manifest.datasets) {
    for (const target of dataset.targets) {
      if (`${dataset.name}/${target.name}` === name) return { dataset, target };
    }
  }
  return null;
}

function describeDemo() {
  const found = state.manifest && demoTarget($('demo-select').value);
  if (!found) return;
  const { dataset, target } = found;
  const refs = dataset.reference_sets.find((r) => r.recipe === target.references);
  $('demo-description').textContent = `${dataset.title}: ${dataset.audit.count} audit records (half of them trained the model), ${dataset.population.count} population records, ${refs ? refs.count : 0} reference models. ${dataset.architecture}.`;
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
    inputsChanged();
  }
}

/**
 * Loads a bundled target (`dataset/target`) with its audit records, population and, when
 * `withReferences`, its reference set, replacing whatever was loaded.
 * @param {string} name
 * @param {boolean} withReferences
 */
async function loadDemo(name, withReferences) {
  const found = demoTarget(name);
  if (!found) throw new Error(`no bundled demo called ${name}`);
  const { dataset, target } = found;
  engine.cancel();
  state.model = state.records = state.population = state.keep = null;
  state.references = 0;
  progress('downloading the demo', 0, 1);
  await loadModelBytes(await fetchBytes(target.model), target.model);
  const ids = await fetchBytes(dataset.audit.ids);
  const features = await fetchBytes(dataset.audit.features);
  state.pixels = dataset.input.shape.length === 3 ? readNpy(features) : null;
  state.records = await engine.call('loadRecordsNpy', [false, dataset.audit.features, features, await fetchBytes(dataset.audit.labels), await fetchBytes(target.members), ids, dataset.classes]);
  state.population = await engine.call('loadRecordsNpy', [true, dataset.population.features, await fetchBytes(dataset.population.features), await fetchBytes(dataset.population.labels), undefined, await fetchBytes(dataset.population.ids), dataset.classes]);
  const refs = dataset.reference_sets.find((r) => r.recipe === target.references);
  if (refs && withReferences) {
    for (const [i, m] of refs.models.entries()) {
      progress('loading reference models', i, refs.models.length);
      state.references = await engine.call('addReferenceModel', [await fetchBytes(m.model), m.model]);
    }
    state.keep = await engine.call('loadKeepMask', [await fetchBytes(refs.keep_mask), refs.keep_mask]);
  }
  progress('demo loaded', 1, 1);
  $('demo-select').value = name;
  describeDemo();
  inputsChanged();
}

/**
 * Audits a bundled target from start to end (for the workshop): loads it, runs the models
 * and the given attacks, and returns the report and per-record table.
 * @param {string} name
 * @param {{attacks: string[], defences?: string[], references?: boolean}} plan
 */
async function auditDemo(name, plan) {
  await loadDemo(name, plan.references !== false);
  const settings = { ...config(), attacks: plan.attacks, defences: plan.defences || [] };
  progress(`running ${name}`, 0, 1);
  await engine.call('computeSignals', [settings]);
  state.signalsFresh = false;
  const result = await engine.call('runAttacks', [settings]);
  progress(`${name} done`, 1, 1);
  return result;
}

// ---------- running ----------
function progress(step, done, total) {
  $('progress').max = Math.max(total, 1);
  $('progress').value = done;
  $('progress-text').textContent = `${step}: ${done} of ${total}`;
}

engine.onProgress = (p) => progress(p.step, p.done, p.total);

async function onRun() {
  setError('run-error', '');
  const chosen = config();
  if (chosen.attacks.length === 0) {
    setError('run-error', 'choose at least one attack');
    return;
  }
  state.busy = true;
  $('run').disabled = true;
  $('cancel').disabled = false;
  try {
    if (!state.signalsFresh) {
      progress('running the models', 0, 1);
      const started = performance.now();
      await engine.call('computeSignals', [chosen]);
      state.signalsSeconds = (performance.now() - started) / 1000;
      state.signalsFresh = true;
    }
    progress('attacks', 0, 1);
    const started = performance.now();
    state.result = await engine.call('runAttacks', [chosen]);
    state.attackSeconds = (performance.now() - started) / 1000;
    progress('done', 1, 1);
    renderResults();
  } catch (e) {
    if (e.message === 'cancelled') {
      setError('run-error', 'Cancelled. The engine was stopped, so inputs must be loaded again.');
      state.model = state.records = state.population = state.keep = null;
      state.references = 0;
    } else setError('run-error', e.message);
  } finally {
    state.busy = false;
    $('cancel').disabled = true;
    inputsChanged();
  }
}

// ---------- 4. results ----------
function tpr(metrics, fpr) {
  const hit = metrics.tpr_at_fpr.find((t) => Math.abs(t.fpr - fpr) < 1e-12);
  return hit ? hit.tpr : null;
}

function renderResults() {
  const { report } = state.result;
  $('results').hidden = false;
  const measured = report.attacks.filter((a) => a.metrics);
  $('results-summary').textContent = `${report.records.records} records of ${report.model.source}; target accuracy ${(100 * report.utility.accuracy).toFixed(1)}%` + (report.utility.member_accuracy !== null ? ` (members ${(100 * report.utility.member_accuracy).toFixed(1)}%, non-members ${(100 * report.utility.non_member_accuracy).toFixed(1)}%)` : '') + `. ${report.attacks.length} attacks. Models ran in ${state.signalsSeconds.toFixed(1)} s (once per set of inputs${report.model.backend ? `; engine: ${report.model.backend.detail}` : ''}); the attacks took ${state.attackSeconds.toFixed(1)} s.`;
  renderRoc();
  const table = $('metrics-table');
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const h of ['attack', 'AUC', 'AUC 95% CI', 'TPR@10% FPR', 'TPR@1% FPR', 'TPR@0.1% FPR', 'ε lower bound @1% FPR', 'scored', 'detail']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const a of report.attacks) {
    const row = body.insertRow();
    row.dataset.attack = a.id;
    const m = a.metrics;
    const op = a.operating_points.find((p) => Math.abs(p.target_fpr - 0.01) < 1e-12);
    const cells = m
      ? [a.id, m.auc.toFixed(3), `[${m.auc_interval[0].toFixed(3)}, ${m.auc_interval[1].toFixed(3)}]`, formatPct(tpr(m, 0.1)), formatPct(tpr(m, 0.01)), formatPct(tpr(m, 0.001)), op ? `${op.epsilon.epsilon.toFixed(2)}${op.optimistic ? ' (optimistic)' : ''}` : '-', `${a.scored}${a.unscored_ids.length ? ` (${a.unscored_ids.length} unscorable)` : ''}`, a.detail || a.note || '']
      : [a.id, '-', '-', '-', '-', '-', '-', String(a.scored), a.note || ''];
    for (const c of cells) row.insertCell().textContent = c;
  }
  const select = $('hist-attack');
  select.replaceChildren();
  for (const a of report.attacks) {
    const option = document.createElement('option');
    option.value = a.id;
    option.textContent = a.id;
    select.append(option);
  }
  const best = measured.slice().sort((x, y) => y.metrics.auc - x.metrics.auc)[0];
  if (best) select.value = best.id;
  renderAttackViews();
}

function renderRoc() {
  const curves = state.result.report.attacks.filter((a) => a.metrics).map((a) => ({ id: a.id, fpr: a.metrics.roc_fpr, tpr: a.metrics.roc_tpr }));
  rocChart($('roc-chart'), curves, $('roc-log').checked);
}

function column(name) {
  return state.result.perRecord.header.indexOf(name);
}

function renderAttackViews() {
  const id = $('hist-attack').value;
  const { rows } = state.result.perRecord;
  const score = column(`score:${id}`);
  const member = column('member');
  const members = [];
  const nonMembers = [];
  for (const row of rows) {
    if (row[score] === '') continue;
    const v = Number(row[score]);
    if (row[member] === '1') members.push(v);
    else nonMembers.push(v);
  }
  histogramChart($('hist-chart'), members, nonMembers, `${id}: members vs non-members`);
  renderClassTable(id);
  renderThumbnails(id);
  renderRecordTable();
}

function renderThumbnails(id) {
  const box = $('thumbnails');
  box.replaceChildren();
  if (!state.pixels) return;
  const { rows } = state.result.perRecord;
  const [rank, score, member, recordId, label] = [column(`rank:${id}`), column(`score:${id}`), column('member'), column('id'), column('label')];
  const ranked = rows.map((r, index) => ({ r, index })).filter(({ r }) => r[rank] !== '').sort((a, b) => Number(a.r[rank]) - Number(b.r[rank]));
  for (const { r, index } of ranked.slice(0, 12)) {
    const figure = document.createElement('figure');
    figure.append(thumbnail(state.pixels, index, 3));
    const caption = document.createElement('figcaption');
    caption.textContent = `#${r[rank]} ${r[recordId]} (${r[label]}${r[member] === '1' ? ', member' : r[member] === '0' ? ', non-member' : ''})`;
    figure.append(caption);
    box.append(figure);
  }
}

function auc(pos, neg) {
  if (!pos.length || !neg.length) return null;
  const all = pos.map((v) => [v, 1]).concat(neg.map((v) => [v, 0])).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  let i = 0;
  while (i < all.length) {
    let j = i;
    while (j < all.length && all[j][0] === all[i][0]) j += 1;
    const mid = (i + j + 1) / 2;
    for (let k = i; k < j; k += 1) if (all[k][1] === 1) rankSum += mid;
    i = j;
  }
  return (rankSum - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}

function renderClassTable(id) {
  const { rows } = state.result.perRecord;
  const [label, member, correct, score] = [column('label'), column('member'), column('correct'), column(`score:${id}`)];
  const byClass = new Map();
  for (const row of rows) {
    const c = byClass.get(row[label]) || { records: 0, members: 0, correctMembers: 0, correctNon: 0, pos: [], neg: [] };
    c.records += 1;
    const isMember = row[member] === '1';
    if (isMember) c.members += 1;
    if (row[correct] === '1') isMember ? (c.correctMembers += 1) : (c.correctNon += 1);
    if (row[score] !== '') (isMember ? c.pos : c.neg).push(Number(row[score]));
    byClass.set(row[label], c);
  }
  const table = $('class-table');
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const h of ['class', 'records', 'members', 'accuracy on members', 'accuracy on non-members', `AUC of ${id}`]) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const [name, c] of byClass) {
    const non = c.records - c.members;
    const a = auc(c.pos, c.neg);
    const cells = [name, c.records, c.members, c.members ? formatPct(c.correctMembers / c.members) : '-', non ? formatPct(c.correctNon / non) : '-', a === null ? '-' : a.toFixed(3)];
    const row = body.insertRow();
    for (const v of cells) row.insertCell().textContent = String(v);
  }
}

const recordSort = { column: null, ascending: true };

function renderRecordTable() {
  const id = $('hist-attack').value;
  const { header, rows } = state.result.perRecord;
  const wanted = ['id', 'label', 'member', 'loss', 'confidence', `score:${id}`, `rank:${id}`];
  const indices = wanted.map(column);
  const query = $('record-search').value.trim().toLowerCase();
  let shown = rows.filter((r) => !query || r[indices[0]].toLowerCase().includes(query) || r[indices[1]].toLowerCase().includes(query));
  const sortIndex = recordSort.column ?? indices[6];
  const ascending = recordSort.column === null ? true : recordSort.ascending;
  const key = (r) => (r[sortIndex] === '' ? Infinity : Number.isNaN(Number(r[sortIndex])) ? r[sortIndex] : Number(r[sortIndex]));
  shown = shown.slice().sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    const order = x < y ? -1 : x > y ? 1 : 0;
    return ascending ? order : -order;
  });
  const table = $('record-table');
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  wanted.forEach((name, i) => {
    const th = document.createElement('th');
    th.scope = 'col';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'sort';
    button.textContent = name;
    button.addEventListener('click', () => {
      recordSort.ascending = recordSort.column === indices[i] ? !recordSort.ascending : true;
      recordSort.column = indices[i];
      renderRecordTable();
    });
    th.append(button);
    head.append(th);
  });
  const body = table.createTBody();
  for (const r of shown.slice(0, 100)) {
    const row = body.insertRow();
    indices.forEach((i, k) => {
      const text = i >= 0 ? r[i] : '';
      const number = Number(text);
      const numeric = k >= 3 && k <= 5 && text !== '' && Number.isFinite(number);
      row.insertCell().textContent = numeric ? number.toPrecision(4) : text;
    });
  }
  void header;
}

// ---------- 5. export ----------
function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function exportRoc() {
  const canvas = $('roc-chart').querySelector('canvas');
  if (canvas) canvas.toBlob((blob) => blob && download('roc.png', blob), 'image/png');
}

// ---------- wiring ----------
async function main() {
  $('upload-model').addEventListener('change', onUploadModel);
  $('upload-records').addEventListener('change', onUploadRecords);
  $('upload-population').addEventListener('change', onUploadPopulation);
  $('upload-npy').addEventListener('change', onUploadNpy);
  $('upload-images').addEventListener('change', onUploadImages);
  $('upload-image-labels').addEventListener('change', onUploadImages);
  $('upload-references').addEventListener('change', onUploadReferences);
  $('upload-keep').addEventListener('change', onUploadKeep);
  $('demo-select').addEventListener('change', describeDemo);
  $('demo-load').addEventListener('click', onLoadDemo);
  $('run').addEventListener('click', onRun);
  $('cancel').addEventListener('click', () => engine.cancel());
  $('roc-log').addEventListener('change', renderRoc);
  $('hist-attack').addEventListener('change', renderAttackViews);
  $('record-search').addEventListener('input', renderRecordTable);
  $('attack-list').addEventListener('change', (e) => {
    const target = /** @type {HTMLInputElement} */ (e.target);
    target.dataset.touched = 'yes';
  });
  $('export-report').addEventListener('click', () => download('report.json', new Blob([JSON.stringify(state.result.report, null, 2) + '\n'], { type: 'application/json' })));
  $('export-csv').addEventListener('click', () => download('per-record.csv', new Blob([state.result.perRecordCsv], { type: 'text/csv' })));
  $('export-roc').addEventListener('click', exportRoc);
  $('defence-kind').addEventListener('change', onDefenceChange);
  $('webgpu-check').addEventListener('click', onWebgpuCheck);
  $('engine-status').textContent += 'gpu' in navigator ? ' This browser offers WebGPU: check it below.' : ' This browser offers no WebGPU.';
  $('defence-value').addEventListener('input', () => { state.signalsFresh = false; });
  onDefenceChange();
  try {
    state.catalogue = await engine.call('catalogue');
    renderAttackList();
  } catch (e) {
    setError('run-error', `the engine did not start: ${e.message}`);
  }
  renderLoaded();
  await loadManifest();
  setupWorkshop($('workshop-steps'), {
    audit: auditDemo,
    manifest: () => state.manifest,
    busy: (on) => {
      state.busy = on;
      renderLoaded();
    },
  });
  document.body.dataset.ready = 'yes';
}

main();
