// The page's one state owner: every section reads the state from here and changes it only
// through `update`, which tells the sections that listen. What the engine knows (what is
// loaded, what each attack lacks, which signals are cached) stays in the engine; the store
// keeps what the page shows of it.

/**
 * @typedef {{
 *   catalogue: any[],
 *   availability: {id: string, missing: string[]}[],
 *   defaults: any,
 *   manifest: any,
 *   model: any,
 *   records: any,
 *   population: any,
 *   references: number,
 *   keep: any,
 *   demo: {name: string, references: boolean} | null,
 *   pixels: any,
 *   result: any,
 *   busy: boolean,
 * }} State
 */

/** @returns {State} */
function initial() {
  return {
    catalogue: [],
    availability: [],
    defaults: null,
    manifest: null,
    model: null,
    records: null,
    population: null,
    references: 0,
    keep: null,
    demo: null,
    pixels: null,
    result: null,
    busy: false,
  };
}

export function createStore() {
  const state = initial();
  /** @type {((state: State) => void)[]} */
  const listeners = [];
  return {
    /** @returns {Readonly<State>} */
    get: () => state,
    /** @param {Partial<State>} patch */
    update(patch) {
      Object.assign(state, patch);
      for (const listen of listeners) listen(state);
    },
    /** Forgets what was loaded (the engine's worker was stopped). */
    clearInputs() {
      this.update({ model: null, records: null, population: null, references: 0, keep: null, demo: null, pixels: null });
    },
    /** @param {(state: State) => void} listen */
    subscribe(listen) {
      listeners.push(listen);
    },
  };
}

/** @typedef {ReturnType<typeof createStore>} Store */
