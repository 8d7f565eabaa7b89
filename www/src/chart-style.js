// How a chart tells its series apart: the dash says the attack's family (what it needs to
// run), the colour which attack of that family it is, so no two series share both, and an
// attack and its per-class variant share a colour. Colours are Okabe & Ito's colour-blind-safe
// palette; the dash survives a greyscale print and a projector.

export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#8C6D00'];

/** @typedef {{family: string, stroke: string, dash: number[], width: number}} SeriesStyle */

/** Families in legend order, each with its dash pattern and the words the legend uses. */
export const FAMILIES = {
  population: { dash: [], words: 'threshold on the target\u2019s output (solid)' },
  'per-class': { dash: [5, 3], words: 'per-class threshold (short dashes)' },
  reference: { dash: [10, 3, 2, 3], words: 'reference models (dash-dot)' },
  'label-only': { dash: [2, 3], words: 'labels only (dotted)' },
  encoding: { dash: [16, 5], words: 'encoding queries (long dashes)' },
  chance: { dash: [4, 4], words: 'chance' },
};

/** The family of an attack id, or of a label that names one (as the workshop's labels do). */
export function familyOf(/** @type {string} */ id) {
  if (id === 'chance') return 'chance';
  if (/code-poison|encoding/.test(id)) return 'encoding';
  if (/label-only/.test(id)) return 'label-only';
  if (/per-class/.test(id)) return 'per-class';
  if (/lira|rmia|calibrated|shokri|LiRA|RMIA/.test(id)) return 'reference';
  return 'population';
}

const BASE_COLOUR = ['loss', 'confidence', 'entropy', 'modified-entropy'];

/**
 * One style per series, in order. `keys` are the attack ids (or labels naming them).
 * @param {string[]} keys
 * @returns {SeriesStyle[]}
 */
export function seriesStyles(keys) {
  /** @type {Record<string, Set<number>>} */
  const taken = {};
  return keys.map((key) => {
    const family = familyOf(key);
    if (family === 'chance') return { family, stroke: '#777777', dash: FAMILIES.chance.dash, width: 1 };
    const used = (taken[family] ??= new Set());
    const base = BASE_COLOUR.indexOf(key.replace(/-per-class$/, ''));
    let index = base >= 0 ? base : family === 'population' || family === 'per-class' ? BASE_COLOUR.length : 0;
    while (used.has(index)) index += 1;
    used.add(index);
    // Past eight members of one family the width tells them apart.
    return { family, stroke: PALETTE[index % PALETTE.length], dash: FAMILIES[family].dash, width: index >= PALETTE.length ? 3.5 : 2 };
  });
}
