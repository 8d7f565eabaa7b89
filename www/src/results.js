// Section 4: the results of the last run, all read from what the engine returned (the
// report, histograms it binned, the per-class breakdown, and pages of the per-record table,
// which stays in the engine: a million rows never cross into the page): every attack's ROC, the metrics
// table, the poisoned-code check (the encoding attacks, answered as their own question), one
// attack's score histogram, the per-class table, the most exposed records, and the exports.
import { rocChart, histogramChart, chartAsSvg, chartCanvas } from './charts.js';
import { familyOf } from './chart-style.js';
import { thumbnail } from './images.js';
import { describeRun } from './run.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

function formatPct(/** @type {number | null | undefined} */ v) {
  return v === null || v === undefined ? 'n/m' : `${(100 * v).toFixed(2)}%`;
}

/** @param {any} metrics @param {number} fpr */
function tpr(metrics, fpr) {
  const hit = metrics.tpr_at_fpr.find((/** @type {any} */ t) => Math.abs(t.fpr - fpr) < 1e-12);
  return hit ? hit.tpr : null;
}

/** Rows of the per-record table shown at a time. */
const PAGE = 100;

/**
 * @param {import('./store.js').Store} store
 * @param {import('./engine.js').Engine} engine
 */
export function setupResults(store, engine) {
  const result = () => store.get().result;
  /** Rows of the shown result's per-record table, as the engine selects them. @param {any} query */
  const rows = (query) => engine.call('recordRows', [result().resultId, result().perRecord.table, query]);

  function show() {
    const { report, run } = result();
    $('results').hidden = false;
    const measured = report.attacks.filter((/** @type {any} */ a) => a.metrics);
    const utility =
      report.utility.member_accuracy !== null
        ? ` (members ${(100 * report.utility.member_accuracy).toFixed(1)}%, non-members ${(100 * report.utility.non_member_accuracy).toFixed(1)}%)`
        : '';
    const engine = report.model.backend ? `; engine: ${report.model.backend.detail}` : '';
    $('results-summary').textContent = `${report.records.records} records of ${report.model.source}; target accuracy ${report.utility.accuracy === null ? 'unknown (no top class in the outputs)' : `${(100 * report.utility.accuracy).toFixed(1)}%`}${utility}. ${report.attacks.length} attacks; ${describeRun(run)}${engine}.`;
    renderRoc();
    const warnings = $('run-warnings');
    warnings.replaceChildren();
    for (const text of report.warnings || []) {
      const item = document.createElement('li');
      item.dataset.inputs = 'yes';
      item.textContent = text;
      warnings.append(item);
    }
    for (const a of report.attacks.filter((/** @type {any} */ x) => x.warning)) {
      const item = document.createElement('li');
      item.dataset.attack = a.id;
      item.textContent = `${a.id}: ${a.warning}`;
      warnings.append(item);
    }
    const isEncoding = (/** @type {any} */ a) => familyOf(a.id) === 'encoding';
    metricsTable($('metrics-table'), report.attacks.filter((/** @type {any} */ a) => !isEncoding(a)), false);
    poisonCheck(report.attacks.filter(isEncoding));
    const select = $('hist-attack');
    select.replaceChildren();
    for (const a of report.attacks) {
      const option = document.createElement('option');
      option.value = a.id;
      option.textContent = a.id;
      select.append(option);
    }
    const best = measured.slice().sort((/** @type {any} */ x, /** @type {any} */ y) => y.metrics.auc - x.metrics.auc)[0];
    if (best) select.value = best.id;
    renderAttackViews();
  }

  /** One row per attack: its AUC with interval, TPRs, ε and detail; with `verdict`, what it says about poisoned code. */
  function metricsTable(/** @type {HTMLTableElement} */ table, /** @type {any[]} */ attacks, /** @type {boolean} */ verdict) {
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    const titles = ['attack', 'AUC', 'AUC 95% CI', 'TPR@10% FPR', 'TPR@1% FPR', 'TPR@0.1% FPR', 'ε lower bound @1% FPR', 'scored', 'detail'];
    for (const h of verdict ? [...titles, 'verdict'] : titles) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = h;
      head.append(th);
    }
    const body = table.createTBody();
    for (const a of attacks) {
      const row = body.insertRow();
      row.dataset.attack = a.id;
      const m = a.metrics;
      const op = a.operating_points.find((/** @type {any} */ p) => Math.abs(p.target_fpr - 0.01) < 1e-12);
      const cells = m
        ? [a.id, m.auc.toFixed(3), `[${m.auc_interval[0].toFixed(3)}, ${m.auc_interval[1].toFixed(3)}]`, formatPct(tpr(m, 0.1)), formatPct(tpr(m, 0.01)), formatPct(tpr(m, 0.001)), op ? `${op.epsilon.epsilon.toFixed(2)}${op.reachable ? '' : ` (at FPR ${formatPct(op.fpr)}: 1% not reached)`}` : '-', `${a.scored}${a.unscored_ids.length ? ` (${a.unscored_ids.length} unscorable)` : ''}`, a.detail || a.note || '']
        : [a.id, '-', '-', '-', '-', '-', '-', String(a.scored), a.note || ''];
      if (verdict) cells.push(poisonVerdict(a));
      for (const c of cells) row.insertCell().textContent = c;
      if (m && m.chance_in_interval) row.cells[2].textContent += ' (chance)';
    }
  }

  /** What one encoding attack says about the model's training code. @param {any} a */
  function poisonVerdict(a) {
    if (!a.metrics) return 'not measured';
    if (a.metrics.chance_in_interval) return 'no sign of poisoned code: members answer the secret queries as non-members do';
    if (a.metrics.auc > 0.5) return 'sign of poisoned code: the model answers its members\u2019 secret queries differently';
    return 'below chance: no sign of this poisoning';
  }

  /** The encoding attacks, as their own question: was this model trained by poisoned code? */
  function poisonCheck(/** @type {any[]} */ attacks) {
    $('poison-check').hidden = attacks.length === 0;
    metricsTable($('poison-table'), attacks, true);
    const flagged = attacks.filter((a) => a.metrics && !a.metrics.chance_in_interval && a.metrics.auc > 0.5);
    const measured = attacks.filter((a) => a.metrics);
    $('poison-summary').textContent =
      measured.length === 0
        ? 'The encoding attacks did not run on these inputs (see the table).'
        : flagged.length === 0
          ? `No sign that this model was trained by poisoned code: for ${measured.map((a) => a.id).join(' and ')} the AUC interval holds 0.5, as it does for a clean model.`
          : `This model answers its members\u2019 secret queries unlike anyone else\u2019s (${flagged.map((a) => `${a.id}: AUC ${a.metrics.auc.toFixed(3)}, ${formatPct(tpr(a.metrics, 0.001))} of members at 0.1% FPR`).join('; ')}). A model trained by ordinary code gives AUC \u2248 0.5 here: ask how it was trained.`;
  }

  function renderRoc() {
    const { report } = result();
    const curves = report.attacks
      .filter((/** @type {any} */ a) => a.metrics)
      .map((/** @type {any} */ a) => ({ id: a.id, fpr: a.metrics.roc_fpr, tpr: a.metrics.roc_tpr, auc: familyOf(a.id) === 'encoding' ? -1 : a.metrics.auc }));
    rocChart($('roc-chart'), curves, { log: $('roc-log').checked, members: report.records.members, nonMembers: report.records.non_members, strongest: 5, title: `ROC curves of ${report.model.source}` });
  }

  function renderAttackViews() {
    const id = $('hist-attack').value;
    const histogram = result().histograms[id];
    if (histogram) histogramChart($('hist-chart'), histogram, { title: `${id}: members vs non-members`, logY: $('hist-log').checked });
    renderClassTable(id);
    renderThumbnails(id);
    recordView.offset = 0;
    renderRecordTable();
  }

  async function renderThumbnails(/** @type {string} */ id) {
    const box = $('thumbnails');
    box.replaceChildren();
    const { pixels } = store.get();
    if (!pixels) return;
    const { header } = result().perRecord;
    const [rank, member, recordId, label] = [`rank:${id}`, 'member', 'id', 'label'].map((c) => header.indexOf(c));
    const page = await rows({ sort: `rank:${id}`, ascending: true, limit: 12 });
    for (const [index, r] of page.rows) {
      if (r[rank] === '') continue;
      const figure = document.createElement('figure');
      figure.append(thumbnail(pixels, index, 3));
      const caption = document.createElement('figcaption');
      caption.textContent = `#${r[rank]} ${r[recordId]} (${r[label]}${r[member] === '1' ? ', member' : r[member] === '0' ? ', non-member' : ''})`;
      figure.append(caption);
      box.append(figure);
    }
  }

  /** The engine's per-class breakdown, with the chosen attack's AUC on each class. */
  function renderClassTable(/** @type {string} */ id) {
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
    for (const c of result().perClass.classes) {
      const auc = c.auc.find((/** @type {[string, number | null]} */ [attack]) => attack === id)?.[1];
      const accuracy = (/** @type {number | null} */ v) => (v === null ? '-' : formatPct(v));
      const cells = [c.class, c.records, c.members ?? '-', accuracy(c.member_accuracy), accuracy(c.non_member_accuracy), auc === null || auc === undefined ? '-' : auc.toFixed(3)];
      const row = body.insertRow();
      for (const v of cells) row.insertCell().textContent = String(v);
    }
  }

  /** The per-record table's sort column (null: the chosen attack's rank), direction and first row shown. */
  const recordView = { column: /** @type {string | null} */ (null), ascending: true, offset: 0 };
  let recordRequest = 0;

  /** One page of the per-record table, read from the engine (which holds every row). */
  async function renderRecordTable() {
    const id = $('hist-attack').value;
    const wanted = ['id', 'label', 'member', 'loss', 'confidence', `score:${id}`, `rank:${id}`];
    const { header } = result().perRecord;
    const indices = wanted.map((name) => header.indexOf(name));
    const request = ++recordRequest;
    const page = await rows({
      sort: recordView.column ?? `rank:${id}`,
      ascending: recordView.ascending,
      search: $('record-search').value,
      offset: recordView.offset,
      limit: PAGE,
    });
    if (request !== recordRequest) return;
    const table = $('record-table');
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    wanted.forEach((name) => {
      const th = document.createElement('th');
      th.scope = 'col';
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'sort';
      button.textContent = name;
      button.addEventListener('click', () => {
        recordView.ascending = recordView.column === name ? !recordView.ascending : true;
        recordView.column = name;
        recordView.offset = 0;
        renderRecordTable();
      });
      th.append(button);
      head.append(th);
    });
    const body = table.createTBody();
    for (const [, r] of page.rows) {
      const row = body.insertRow();
      indices.forEach((i, k) => {
        const text = i >= 0 ? r[i] : '';
        const number = Number(text);
        const numeric = k >= 3 && k <= 5 && text !== '' && Number.isFinite(number);
        row.insertCell().textContent = numeric ? number.toPrecision(4) : text;
      });
    }
    const last = Math.min(page.matching, recordView.offset + page.rows.length);
    $('records-page').textContent = page.matching === 0 ? 'no record matches' : `records ${(recordView.offset + 1).toLocaleString('en')}\u2013${last.toLocaleString('en')} of ${page.matching.toLocaleString('en')}`;
    $('records-prev').disabled = recordView.offset === 0;
    $('records-next').disabled = last >= page.matching;
  }

  /** Moves the per-record table by `pages` pages. @param {number} pages */
  function turnPage(pages) {
    recordView.offset = Math.max(0, recordView.offset + pages * PAGE);
    renderRecordTable();
  }

  function download(/** @type {string} */ name, /** @type {Blob} */ blob) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  function exportPng(/** @type {string} */ chart, /** @type {string} */ name) {
    const canvas = chartCanvas($(chart));
    if (canvas) canvas.toBlob((/** @type {Blob | null} */ blob) => blob && download(name, blob), 'image/png');
  }

  function exportSvg(/** @type {string} */ chart, /** @type {string} */ name) {
    const svg = chartAsSvg($(chart));
    if (svg) download(name, new Blob([svg], { type: 'image/svg+xml' }));
  }

  $('roc-log').addEventListener('change', renderRoc);
  $('hist-attack').addEventListener('change', renderAttackViews);
  $('record-search').addEventListener('input', () => {
    recordView.offset = 0;
    renderRecordTable();
  });
  $('records-prev').addEventListener('click', () => turnPage(-1));
  $('records-next').addEventListener('click', () => turnPage(1));
  $('export-report').addEventListener('click', () => download('report.json', new Blob([JSON.stringify(result().report, null, 2) + '\n'], { type: 'application/json' })));
  $('export-html').addEventListener('click', async () => {
    const { resultId, perRecord } = result();
    download('report.html', new Blob([await engine.call('htmlReport', [resultId, perRecord.table])], { type: 'text/html' }));
  });
  $('export-csv').addEventListener('click', async () => {
    const { resultId, perRecord } = result();
    download('per-record.csv', await engine.call('perRecordCsv', [resultId, perRecord.table, perRecord.records]));
  });
  $('export-roc').addEventListener('click', () => exportPng('roc-chart', 'roc.png'));
  $('export-roc-svg').addEventListener('click', () => exportSvg('roc-chart', 'roc.svg'));
  $('export-hist').addEventListener('click', () => exportPng('hist-chart', 'histogram.png'));
  $('export-hist-svg').addEventListener('click', () => exportSvg('hist-chart', 'histogram.svg'));
  $('hist-log').addEventListener('change', renderAttackViews);
  return { show };
}
