// Numbers as the page's prose states them: a percentage keeps two significant digits below
// 1% (0.05% stays 0.05%, not "0.1%") and one decimal above.

/** @param {number} v a fraction in [0, 1] */
export function percent(v) {
  const x = 100 * v;
  if (x === 0) return '0%';
  if (x < 1) return `${Number(x.toPrecision(2))}%`;
  return `${x.toFixed(1)}%`;
}
