// Section 4: the results of the last run, all read from what the engine returned (the
// report, the per-record table and the per-class breakdown): every attack's ROC, the metrics
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

/** @param {import('./store.js').Store} store */
export function setupResults(store) {
  const result = () => store.get().result;
  const column = (/** @type {string} */ name) => result().perRecord.header.indexOf(name);

  function show() {
    const { report, run } = result();
    $('results').hidden = false;
    const measured = report.attacks.filter((/** @type {any} */ a) => a.metrics);
    const utility =
      report.utility.member_accuracy !== null
        ? ` (members ${(100 * report.utility.member_accuracy).toFixed(1)}%, non-members ${(100 * report.utility.non_member_accuracy).toFixed(1)}%)`
        : '';
    const engine = report.model.backend ? `; engine: ${report.model.backend.detail}` : '';
    $('results-summary').textContent = `${report.records.records} records of ${report.model.source}; target accuracy ${(100 * report.utility.accuracy).toFixed(1)}%${utility}. ${report.attacks.length} attacks; ${describeRun(run)}${engine}.`;
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
    const { rows } = result().perRecord;
    const score = column(`score:${id}`);
    const member = column('member');
    /** @type {number[]} */ const members = [];
    /** @type {number[]} */ const nonMembers = [];
    for (const row of rows) {
      if (row[score] === '') continue;
      (row[member] === '1' ? members : nonMembers).push(Number(row[score]));
    }
    histogramChart($('hist-chart'), members, nonMembers, { title: `${id}: members vs non-members`, logY: $('hist-log').checked });
    renderClassTable(id);
    renderThumbnails(id);
    renderRecordTable();
  }

  function renderThumbnails(/** @type {string} */ id) {
    const box = $('thumbnails');
    box.replaceChildren();
    const { pixels } = store.get();
    if (!pixels) return;
    const { rows } = result().perRecord;
    const [rank, member, recordId, label] = [column(`rank:${id}`), column('member'), column('id'), column('label')];
    const ranked = rows
      .map((/** @type {string[]} */ r, /** @type {number} */ index) => ({ r, index }))
      .filter(({ r }) => r[rank] !== '')
      .sort((a, b) => Number(a.r[rank]) - Number(b.r[rank]));
    for (const { r, index } of ranked.slice(0, 12)) {
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

  const recordSort = { column: /** @type {number | null} */ (null), ascending: true };

  function renderRecordTable() {
    const id = $('hist-attack').value;
    const { rows } = result().perRecord;
    const wanted = ['id', 'label', 'member', 'loss', 'confidence', `score:${id}`, `rank:${id}`];
    const indices = wanted.map(column);
    const query = $('record-search').value.trim().toLowerCase();
    let shown = rows.filter((/** @type {string[]} */ r) => !query || r[indices[0]].toLowerCase().includes(query) || r[indices[1]].toLowerCase().includes(query));
    const sortIndex = recordSort.column ?? indices[6];
    const ascending = recordSort.column === null ? true : recordSort.ascending;
    const key = (/** @type {string[]} */ r) => (r[sortIndex] === '' ? Infinity : Number.isNaN(Number(r[sortIndex])) ? r[sortIndex] : Number(r[sortIndex]));
    shown = shown.slice().sort((/** @type {string[]} */ a, /** @type {string[]} */ b) => {
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
  $('record-search').addEventListener('input', renderRecordTable);
  $('export-report').addEventListener('click', () => download('report.json', new Blob([JSON.stringify(result().report, null, 2) + '\n'], { type: 'application/json' })));
  $('export-csv').addEventListener('click', () => download('per-record.csv', new Blob([result().perRecordCsv], { type: 'text/csv' })));
  $('export-roc').addEventListener('click', () => exportPng('roc-chart', 'roc.png'));
  $('export-roc-svg').addEventListener('click', () => exportSvg('roc-chart', 'roc.svg'));
  $('export-hist').addEventListener('click', () => exportPng('hist-chart', 'histogram.png'));
  $('export-hist-svg').addEventListener('click', () => exportSvg('hist-chart', 'histogram.svg'));
  $('hist-log').addEventListener('change', renderAttackViews);
  return { show };
}
