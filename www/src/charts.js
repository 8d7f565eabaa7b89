// Charts with uPlot: ROC curves (linear or log-log, floored at one non-member) and score
// histograms as the engine binned them (edge-aligned bins over the range that holds the
// scores, long tails gathered in the edge bins), with optional log axes. Each chart draws its own legend: a button per series
// that shows its colour and dash, hides or shows it, and isolates it; uPlot's own legend (with
// its "Value" readout) is off. Every chart keeps the spec it drew, for the SVG and PNG exports.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { FAMILIES, seriesStyles } from './chart-style.js';
import { chartSvg, ticks } from './svg.js';

/** @typedef {import('./svg.js').ChartSpec} ChartSpec */
/** @typedef {{spec: ChartSpec, plot: uPlot, canvas: () => HTMLCanvasElement | null}} Chart */

/** @type {WeakMap<HTMLElement, Chart>} */
const drawn = new WeakMap();
/** Each chart follows its box's width (a phone turned, a projector's large type). */
const resized = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const chart = drawn.get(/** @type {HTMLElement} */ (entry.target));
    if (chart && Math.abs(chart.plot.width - width(/** @type {HTMLElement} */ (entry.target))) > 4) chart.plot.setSize({ width: width(/** @type {HTMLElement} */ (entry.target)), height: chart.plot.height });
  }
});

function width(/** @type {HTMLElement} */ el) {
  return Math.max(260, Math.min(el.clientWidth || 800, 1400));
}

/** A legend swatch: a short line in the series' colour and dash. */
function swatch(/** @type {{stroke: string, dash: number[], width: number}} */ style) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '34');
  svg.setAttribute('height', '10');
  svg.setAttribute('aria-hidden', 'true');
  const line = document.createElementNS(ns, 'line');
  for (const [k, v] of Object.entries({ x1: 1, x2: 33, y1: 5, y2: 5, stroke: style.stroke, 'stroke-width': Math.max(2, style.width) })) line.setAttribute(k, String(v));
  if (style.dash.length) line.setAttribute('stroke-dasharray', style.dash.join(' '));
  svg.append(line);
  return svg;
}

/**
 * Draws the legend of `chart` into `box`: one toggle per series, an "only" button that
 * isolates it, "show all", and a key to the families' dashes.
 * @param {HTMLElement} box @param {Chart} chart @param {string[]} families
 */
function legend(box, chart, families) {
  const { spec, plot } = chart;
  const list = document.createElement('div');
  list.className = 'legend';
  list.setAttribute('role', 'group');
  list.setAttribute('aria-label', `series of ${spec.title}: each button hides or shows one`);
  /** @type {HTMLButtonElement[]} */
  const toggles = [];
  const set = (/** @type {number} */ i, /** @type {boolean} */ show) => {
    spec.series[i].show = show;
    plot.setSeries(i + 1, { show });
    toggles[i].setAttribute('aria-pressed', String(show));
    toggles[i].parentElement?.setAttribute('data-shown', String(show));
  };
  spec.series.forEach((s, i) => {
    const item = document.createElement('span');
    item.className = 'legend-item';
    Object.assign(item.dataset, { series: s.label, stroke: s.stroke, dash: s.dash.join(','), width: String(s.width), shown: String(s.show) });
    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.className = 'legend-toggle';
    toggle.setAttribute('aria-pressed', String(s.show));
    const label = document.createElement('span');
    label.className = 'legend-label';
    label.textContent = s.label;
    toggle.append(swatch(s), label);
    toggle.addEventListener('click', () => set(i, !spec.series[i].show));
    const only = document.createElement('button');
    only.type = 'button';
    only.className = 'legend-only';
    only.textContent = 'only';
    only.setAttribute('aria-label', `show only ${s.label}`);
    only.addEventListener('click', () => spec.series.forEach((_, j) => set(j, j === i)));
    toggles.push(toggle);
    item.append(toggle, only);
    list.append(item);
  });
  if (spec.series.length > 2) {
    const all = document.createElement('button');
    all.type = 'button';
    all.className = 'legend-all';
    all.textContent = 'show all';
    all.addEventListener('click', () => spec.series.forEach((_, j) => set(j, true)));
    list.append(all);
  }
  box.append(list);
  const key = families.filter((f) => f !== 'chance').map((f) => FAMILIES[/** @type {keyof typeof FAMILIES} */ (f)].words);
  if (key.length > 1) {
    const p = document.createElement('p');
    p.className = 'legend-key hint';
    p.textContent = `Line style: ${key.join('; ')}.`;
    box.append(p);
  }
}

/** Draws `spec` with uPlot into `el` (replacing what was there), legend above the plot. */
function draw(/** @type {HTMLElement} */ el, /** @type {ChartSpec} */ spec, /** @type {string[]} */ families, /** @type {Partial<uPlot.Options>} */ extra) {
  el.replaceChildren();
  const legendBox = document.createElement('div');
  const plotBox = document.createElement('div');
  plotBox.setAttribute('role', 'img');
  plotBox.setAttribute('aria-label', `${el.getAttribute('aria-label') ?? 'chart'}: ${spec.title}; series: ${spec.series.map((s) => s.label).join(', ')}`);
  el.append(legendBox, plotBox);
  const axis = (/** @type {import('./svg.js').Axis} */ a) => (a.log ? { time: false, distr: 3, log: 10, min: a.min, max: a.max, range: () => [a.min, a.max] } : { time: false, min: a.min, max: a.max, range: () => [a.min, a.max] });
  /** @type {uPlot.Options} */
  const opts = {
    title: spec.title,
    width: width(el),
    height: spec.kind === 'bars' ? 300 : 380,
    legend: { show: false },
    scales: { x: /** @type {any} */ (axis(spec.x)), y: /** @type {any} */ (axis(spec.y)) },
    // uPlot's own log ticks assume an axis that starts at a power of ten; these start at one record.
    axes: [spec.x, spec.y].map((a) => (a.log ? { label: a.label, splits: () => ticks(a) } : { label: a.label })),
    series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.stroke, dash: s.dash, width: s.width, fill: s.fill, show: s.show, points: { show: false } }))],
    ...extra,
  };
  const plot = new uPlot(opts, /** @type {any} */ ([spec.xs, ...spec.series.map((s) => s.ys)]), plotBox);
  const chart = { spec, plot, canvas: () => plotBox.querySelector('canvas') };
  legend(legendBox, chart, families);
  drawn.set(el, chart);
  resized.observe(el);
  return chart;
}

/**
 * ROC curves into `el`. Each curve's `id` names its attack (it sets the family's dash);
 * `label` (default the id) is what the legend says. With `strongest`, only that many curves
 * with the highest `auc` are shown at first; the others are one click away.
 * @param {HTMLElement} el
 * @param {{id: string, label?: string, fpr: number[], tpr: number[], auc?: number}[]} curves
 * @param {{log?: boolean, nonMembers?: number, members?: number, strongest?: number, title?: string}} [options]
 */
export function rocChart(el, curves, options = {}) {
  const { log = true, strongest = Infinity, title = 'ROC curves' } = options;
  const minPositive = (/** @type {number[][]} */ arrays) => {
    let m = Infinity;
    for (const a of arrays) for (const v of a) if (v > 0 && v < m) m = v;
    return Number.isFinite(m) ? m : 1e-4;
  };
  // The log axes start at one record: below 1/#non-members no FPR can be measured.
  const xFloor = options.nonMembers ? 1 / options.nonMembers : minPositive(curves.map((c) => c.fpr));
  const yFloor = options.members ? 1 / options.members : minPositive(curves.map((c) => c.tpr));
  const clampX = (/** @type {number} */ v) => (log ? Math.max(v, xFloor) : v);
  const clampY = (/** @type {number} */ v) => (log ? Math.max(v, yFloor) : v);
  const xs = [...new Set(curves.flatMap((c) => c.fpr.map(clampX)))].sort((a, b) => a - b);
  const styles = seriesStyles([...curves.map((c) => c.id), 'chance']);
  const ranked = curves.map((c, i) => ({ i, auc: c.auc ?? 0 })).sort((a, b) => b.auc - a.auc);
  const shown = new Set(ranked.slice(0, strongest).map((r) => r.i));
  /** @type {import('./svg.js').Series[]} */
  const series = curves.map((c, k) => {
    // Step interpolation: TPR at x is the best TPR among points with FPR <= x.
    /** @type {number[]} */
    const ys = new Array(xs.length);
    let j = 0;
    let best = 0;
    xs.forEach((x, i) => {
      while (j < c.fpr.length && clampX(c.fpr[j]) <= x) {
        best = Math.max(best, c.tpr[j]);
        j += 1;
      }
      ys[i] = clampY(best);
    });
    return { label: c.label ?? c.id, ys, ...styles[k], show: shown.has(k) };
  });
  // A curve that a later one covers (within a hundredth of TPR everywhere) is drawn wider
  // underneath and says so.
  const gap = (/** @type {(number | null)[]} */ a, /** @type {(number | null)[]} */ b) => a.reduce((m, y, i) => Math.max(m, Math.abs(Number(y) - Number(b[i]))), 0);
  series.forEach((s, k) => {
    const twin = series.findIndex((t, j) => j > k && gap(s.ys, t.ys) <= 0.01);
    if (twin >= 0) {
      s.width = Math.max(s.width, 5);
      s.label += ` (${gap(s.ys, series[twin].ys) < 1e-12 ? 'same curve as' : 'nearly the same curve as'} ${series[twin].label})`;
    }
  });
  series.push({ label: 'chance', ys: xs.map(clampY), ...styles[curves.length], show: true });
  /** @type {ChartSpec} */
  const spec = {
    kind: 'lines',
    title,
    xs,
    x: { log, min: log ? xFloor : 0, max: 1, label: 'false-positive rate' },
    y: { log, min: log ? yFloor : 0, max: 1, label: 'true-positive rate' },
    series,
  };
  return draw(el, spec, [...new Set(styles.map((s) => s.family))], {});
}

/**
 * @typedef {{lo: number, hi: number, clippedLow: boolean, clippedHigh: boolean, logX: boolean,
 *   members: number[], nonMembers: number[], values: number, binned: number,
 *   memberMedian: number | null, nonMemberMedian: number | null}} Histogram
 */

/**
 * The engine's histogram of members' and non-members' values (already binned: the page never
 * holds the values themselves), overlaid, into `el`. With `logY` the counts axis is
 * logarithmic. `el.dataset` records how many values were given and binned.
 * @param {HTMLElement} el
 * @param {Histogram} histogram
 * @param {{title: string, xLabel?: string, logY?: boolean}} options
 */
export function histogramChart(el, histogram, options) {
  const { title, logY = false } = options;
  const { lo, hi, clippedLow, clippedHigh, logX, members: countM, nonMembers: countN } = histogram;
  el.dataset.values = String(histogram.values);
  el.dataset.binned = String(histogram.binned);
  el.dataset.skipped = String(histogram.values - histogram.binned);
  if (histogram.binned === 0) {
    el.replaceChildren();
    el.textContent = 'no scores to show';
    drawn.delete(el);
    return null;
  }
  const bins = countM.length;
  const step = (hi - lo) / bins;
  const edges = Array.from({ length: bins }, (_, i) => lo + i * step);
  const sum = (/** @type {number[]} */ c) => c.reduce((a, b) => a + b, 0);
  let top = 1;
  for (let i = 0; i < bins; i += 1) top = Math.max(top, countM[i], countN[i]);
  const gathered = [clippedLow ? 'the lowest scores are gathered in the first bin' : '', clippedHigh ? 'the highest in the last' : ''].filter(Boolean).join(', ');
  const base = options.xLabel ?? 'score (higher: more likely a member)';
  const xLabel = `${logX ? `log10 of ${base}` : base}${gathered ? ` (${gathered})` : ''}`;
  const nullZero = (/** @type {number[]} */ c) => (logY ? c.map((v) => (v > 0 ? v : null)) : c);
  /** @type {ChartSpec} */
  const spec = {
    kind: 'bars',
    title,
    xs: edges,
    barWidth: step,
    x: { log: false, min: lo, max: hi, label: xLabel },
    y: { log: logY, min: logY ? 0.8 : 0, max: logY ? top * 1.6 : top * 1.05, label: logY ? 'records (log scale)' : 'records' },
    series: [
      { label: `members (${sum(countM)})`, ys: nullZero(countM), stroke: '#D55E00', fill: 'rgba(213,94,0,0.35)', dash: [], width: 1, show: true },
      { label: `non-members (${sum(countN)})`, ys: nullZero(countN), stroke: '#0072B2', fill: 'rgba(0,114,178,0.30)', dash: [], width: 1, show: true },
    ],
  };
  // Bars start at their bin's left edge and fill the bin, so the last one ends at `hi`.
  const bars = uPlot.paths.bars?.({ size: [1, Infinity], align: 1 });
  return draw(el, spec, [], {
    series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.stroke, fill: s.fill, width: 1, paths: bars, points: { show: false } }))],
  });
}

/** The SVG of the chart drawn in `el`, or null. @param {HTMLElement} el */
export function chartAsSvg(el) {
  const chart = drawn.get(el);
  return chart ? chartSvg(chart.spec) : null;
}

/** The canvas of the chart drawn in `el`, or null. @param {HTMLElement} el */
export function chartCanvas(el) {
  return drawn.get(el)?.canvas() ?? null;
}
