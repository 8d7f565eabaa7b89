// A chart as a standalone SVG file, drawn from the same data and styles as the page's canvas
// chart (not a screenshot of it), so a report or a slide gets vector lines that keep their
// dashes at any size. Only the series shown on the page are drawn.

/**
 * @typedef {{log: boolean, min: number, max: number, label: string}} Axis
 * @typedef {{label: string, ys: (number | null)[], stroke: string, dash: number[], width: number, fill?: string, show: boolean}} Series
 * @typedef {{kind: 'lines' | 'bars', title: string, xs: number[], barWidth?: number, x: Axis, y: Axis, series: Series[]}} ChartSpec
 */

const W = 800;
const PLOT = { left: 72, right: 24, top: 34, height: 380 };

const escape = (/** @type {string} */ s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const num = (/** @type {number} */ v) => (Math.round(v * 100) / 100).toString();

/** Tick positions: decades on a log axis, steps of 1, 2 or 5 × 10^k on a linear one. */
export function ticks(/** @type {Axis} */ axis) {
  if (axis.log) {
    const out = [];
    for (let e = Math.ceil(Math.log10(axis.min) - 1e-9); e <= Math.floor(Math.log10(axis.max) + 1e-9); e += 1) out.push(10 ** e);
    return out;
  }
  const span = axis.max - axis.min || 1;
  const raw = span / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(axis.min / step) * step; v <= axis.max + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function tickLabel(/** @type {number} */ v, /** @type {boolean} */ log) {
  if (log) return v >= 0.01 ? String(v) : `1e${Math.round(Math.log10(v))}`;
  return Number(v.toPrecision(6)).toString();
}

function scale(/** @type {Axis} */ axis, /** @type {number} */ from, /** @type {number} */ to) {
  const f = axis.log ? Math.log10 : (/** @type {number} */ v) => v;
  const [a, b] = [f(axis.min), f(axis.max)];
  return (/** @type {number} */ v) => from + ((f(v) - a) / (b - a || 1)) * (to - from);
}

/** The SVG text of `spec`. @param {ChartSpec} spec */
export function chartSvg(spec) {
  const shown = spec.series.filter((s) => s.show);
  const legendRows = Math.ceil(shown.length / 2);
  const bottom = PLOT.top + PLOT.height;
  const height = bottom + 56 + legendRows * 22;
  const right = W - PLOT.right;
  const sx = scale(spec.x, PLOT.left, right);
  const sy = scale(spec.y, bottom, PLOT.top);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${escape(spec.title)}</text>`,
  ];
  for (const t of ticks(spec.x)) {
    const x = num(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${PLOT.top}" y2="${bottom}" stroke="#e4e4e4"/>`, `<text x="${x}" y="${bottom + 16}" text-anchor="middle">${tickLabel(t, spec.x.log)}</text>`);
  }
  for (const t of ticks(spec.y)) {
    const y = num(sy(t));
    parts.push(`<line x1="${PLOT.left}" x2="${right}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`, `<text x="${PLOT.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${tickLabel(t, spec.y.log)}</text>`);
  }
  parts.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${right - PLOT.left}" height="${PLOT.height}" fill="none" stroke="#888888"/>`,
    `<text x="${(PLOT.left + right) / 2}" y="${bottom + 36}" text-anchor="middle">${escape(spec.x.label)}</text>`,
    `<text transform="translate(18 ${PLOT.top + PLOT.height / 2}) rotate(-90)" text-anchor="middle">${escape(spec.y.label)}</text>`,
  );
  for (const s of shown) {
    const dash = s.dash.length ? ` stroke-dasharray="${s.dash.join(' ')}"` : '';
    if (spec.kind === 'bars') {
      const w = spec.barWidth ?? 0;
      s.ys.forEach((y, i) => {
        if (y === null || y <= 0 || (spec.y.log && y < spec.y.min)) return;
        const [x0, x1] = [sx(spec.xs[i]), sx(spec.xs[i] + w)];
        const top = sy(y);
        parts.push(`<rect x="${num(x0)}" y="${num(top)}" width="${num(x1 - x0)}" height="${num(bottom - top)}" fill="${s.fill ?? 'none'}" stroke="${s.stroke}"/>`);
      });
    } else {
      let d = '';
      let pen = 'M';
      s.ys.forEach((y, i) => {
        if (y === null) {
          pen = 'M';
          return;
        }
        d += `${pen}${num(sx(spec.xs[i]))},${num(sy(y))}`;
        pen = 'L';
      });
      parts.push(`<path d="${d}" fill="none" stroke="${s.stroke}" stroke-width="${s.width}"${dash}/>`);
    }
  }
  shown.forEach((s, i) => {
    const x = PLOT.left + (i % 2) * 360;
    const y = bottom + 60 + Math.floor(i / 2) * 22;
    const dash = s.dash.length ? ` stroke-dasharray="${s.dash.join(' ')}"` : '';
    parts.push(`<line x1="${x}" x2="${x + 36}" y1="${y}" y2="${y}" stroke="${s.stroke}" stroke-width="${Math.max(s.width, 2)}"${dash}/>`, `<text x="${x + 44}" y="${y}" dominant-baseline="middle">${escape(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
