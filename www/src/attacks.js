// Section 3: which attacks run and with what settings. The list, each attack's paper and
// description, what it still lacks and every default come from the engine (`catalogue`,
// `availability`, `defaultConfig`); the form only edits a copy of the engine's settings,
// and the exact JSON sent to the engine is shown under "Settings".

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

const DEFENCE_VALUES = { topk: '1', round: '2', temperature: '2', noise: '0.05' };

/** @param {import('./store.js').Store} store */
export function setupAttacks(store) {
  function renderList() {
    const list = $('attack-list');
    list.replaceChildren();
    for (const info of store.get().catalogue) {
      const label = document.createElement('label');
      label.className = 'attack';
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = info.id;
      box.checked = info.by_default;
      box.dataset.byDefault = info.by_default ? 'yes' : 'no';
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
  }

  function renderAvailability() {
    for (const { id, missing } of store.get().availability) {
      const box = $(`attack-${id}`);
      const needs = document.querySelector(`.needs[data-attack="${id}"]`);
      if (!box || !needs) continue;
      box.disabled = missing.length > 0;
      if (missing.length > 0) box.checked = false;
      else if (box.dataset.touched !== 'yes') box.checked = box.dataset.byDefault === 'yes';
      needs.textContent = missing.length ? ` needs ${missing.join(' and ')}` : '';
    }
    renderSettings();
  }

  /** The form filled from the engine's defaults. */
  function fillForm() {
    const { params, seed } = store.get().defaults;
    $('param-rmia-a').value = String(params.rmia.a);
    $('param-rmia-gamma').value = String(params.rmia.gamma);
    $('param-lira-variance').value = params.lira.variance;
    $('param-seed').value = String(seed);
  }

  function chosenAttacks() {
    return store
      .get()
      .catalogue.map((i) => $(`attack-${i.id}`))
      .filter((b) => b && b.checked && !b.disabled)
      .map((b) => b.value);
  }

  /** The defence picked in the form, as the CLI's `--defence` writes it. */
  function chosenDefences() {
    const kind = $('defence-kind').value;
    if (!kind) return [];
    if (kind === 'top1') return ['top1'];
    return [`${kind}:${$('defence-value').value.trim()}`];
  }

  /**
   * The settings the engine is sent: its defaults with the form's choices.
   * @param {{attacks?: string[], defences?: string[]}} [override]
   */
  function config(override = {}) {
    const defaults = store.get().defaults;
    const a = $('param-rmia-a').value.trim();
    const number = (/** @type {string} */ text, /** @type {number} */ fallback) => (text.trim() === '' ? fallback : Number(text));
    return {
      ...defaults,
      attacks: override.attacks ?? chosenAttacks(),
      seed: number($('param-seed').value, defaults.seed),
      signals: { ...defaults.signals, defences: override.defences ?? chosenDefences() },
      params: {
        ...defaults.params,
        rmia: { ...defaults.params.rmia, a: a === 'tune' ? 'tune' : number(a, defaults.params.rmia.a), gamma: number($('param-rmia-gamma').value, defaults.params.rmia.gamma) },
        lira: { ...defaults.params.lira, variance: $('param-lira-variance').value },
        code_poison: { ...defaults.params.code_poison, normalization: $('param-code-poison-normalization').value.trim() || null },
      },
    };
  }

  function renderSettings() {
    if (store.get().defaults) $('settings-json').textContent = JSON.stringify(config(), null, 2);
  }

  function onDefenceChange() {
    const kind = $('defence-kind').value;
    $('defence-value').disabled = !kind || kind === 'top1';
    if (DEFENCE_VALUES[kind] && $('defence-value').dataset.kind !== kind) $('defence-value').value = DEFENCE_VALUES[kind];
    $('defence-value').dataset.kind = kind;
    renderSettings();
  }

  $('attack-list').addEventListener('change', (/** @type {Event} */ e) => {
    /** @type {HTMLInputElement} */ (e.target).dataset.touched = 'yes';
    renderSettings();
  });
  $('defence-kind').addEventListener('change', onDefenceChange);
  for (const id of ['defence-value', 'param-rmia-a', 'param-rmia-gamma', 'param-lira-variance', 'param-seed', 'param-code-poison-normalization']) {
    $(id).addEventListener('input', renderSettings);
  }
  onDefenceChange();
  store.subscribe(renderAvailability);
  return {
    config,
    /** Draws the list and the form once the catalogue and defaults are known. */
    ready() {
      renderList();
      fillForm();
      renderAvailability();
    },
  };
}
