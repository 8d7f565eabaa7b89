// Charts with uPlot: ROC curves of every attack on one chart (linear or log-log) and a
// histogram of one attack's scores for members and non-members. Colours are Okabe & Ito's
// colour-blind-safe palette; past eight attacks, dashes tell lines apart.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
const DASHES = [[], [6, 3], [2, 2], [8, 2, 2, 2]];

function width(el) {
  return Math.max(320, Math.min(el.clientWidth || 800, 960));
}

/**
 * Draws every attack's ROC into `el`, replacing what was there.
 * @param {HTMLElement} el
 * @param {{id: string, fpr: number[], tpr: number[]}[]} curves
 * @param {boolean} logScale
 */
export function rocChart(el, curves, logScale) {
  el.replaceChildren();
  const floor = 1e-4;
  const xs = [...new Set(curves.flatMap((c) => c.fpr.map((v) => (logScale ? Math.max(v, floor) : v))))].sort((a, b) => a - b);
  const series = curves.map((c) => {
    // Step interpolation: TPR at x is the best TPR among points with FPR <= x.
    const ys = new Array(xs.length).fill(null);
    let j = 0;
    let best = 0;
    xs.forEach((x, i) => {
      while (j < c.fpr.length && (logScale ? Math.max(c.fpr[j], floor) : c.fpr[j]) <= x) {
        best = Math.max(best, c.tpr[j]);
        j += 1;
      }
      ys[i] = logScale ? Math.max(best, floor) : best;
    });
    return ys;
  });
  const chance = xs.map((x) => x);
  /** @type {import('uplot').Scale} */
  const logAxis = { time: false, distr: 3, log: 10, min: floor, max: 1 };
  /** @type {import('uplot').Scale} */
  const linearAxis = { time: false, min: 0, max: 1 };
  /** @type {import('uplot').Options} */
  const opts = {
    width: width(el),
    height: 380,
    scales: { x: logScale ? logAxis : linearAxis, y: logScale ? logAxis : linearAxis },
    axes: [{ label: 'false-positive rate' }, { label: 'true-positive rate' }],
    series: [
      {},
      ...curves.map((c, i) => ({
        label: c.id,
        stroke: PALETTE[i % PALETTE.length],
        dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length],
        width: 2,
        points: { show: false },
      })),
      { label: 'chance', stroke: '#999999', dash: [4, 4], width: 1, points: { show: false } },
    ],
  };
  return new uPlot(opts, [xs, ...series, chance], el);
}

/**
 * Histogram of scores for members and non-members.
 * @param {HTMLElement} el
 * @param {number[]} members
 * @param {number[]} nonMembers
 * @param {string} title
 */
export function histogramChart(el, members, nonMembers, title) {
  el.replaceChildren();
  const all = members.concat(nonMembers).filter((v) => Number.isFinite(v));
  if (all.length === 0) {
    el.textContent = 'no scores to show';
    return null;
  }
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi === lo) hi = lo + 1;
  const bins = 40;
  const step = (hi - lo) / bins;
  const centres = Array.from({ length: bins }, (_, i) => lo + (i + 0.5) * step);
  const count = (values) => {
    const c = new Array(bins).fill(0);
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      c[Math.min(bins - 1, Math.floor((v - lo) / step))] += 1;
    }
    return c;
  };
  const bars = uPlot.paths.bars({ size: [0.9, 100] });
  /** @type {import('uplot').Options} */
  const opts = {
    title,
    scales: { x: { time: false } },
    width: width(el),
    height: 300,
    axes: [{ label: 'score (higher: more likely a member)' }, { label: 'records' }],
    series: [
      {},
      { label: 'members', stroke: PALETTE[1], fill: 'rgba(213,94,0,0.35)', paths: bars, points: { show: false } },
      { label: 'non-members', stroke: PALETTE[0], fill: 'rgba(0,114,178,0.35)', paths: bars, points: { show: false } },
    ],
  };
  return new uPlot(opts, [centres, count(members), count(nonMembers)], el);
}
