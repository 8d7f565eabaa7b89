// The workshop's presenter view: one step at a time in large type for a projector, moved
// with the keyboard (→/PageDown next, ←/PageUp previous, Home first, Enter runs, Esc leaves),
// and a reset that clears every step and returns to step 1. Navigation and reset are
// broadcast to the page's other tabs and windows in this browser (a projector window follows
// the presenter's laptop tab); pages on other machines cannot be reached, since nothing
// leaves this one. `?present` in the address opens the view, `#step-N` a step.

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/**
 * @param {{count: number, run: (n: number) => void, clear: () => void}} workshop
 * @param {HTMLElement} list the steps' list
 */
export function setupPresenter(workshop, list) {
  const channel = 'BroadcastChannel' in self ? new BroadcastChannel('mialab-workshop') : null;
  let current = 1;
  const toggle = $('present-toggle');

  function show(/** @type {number} */ n, /** @type {boolean} */ announce) {
    current = Math.min(workshop.count, Math.max(1, n));
    for (const item of list.querySelectorAll('.workshop-step')) item.classList.toggle('current', Number(/** @type {HTMLElement} */ (item).dataset.step) === current);
    $('present-position').textContent = `step ${current} of ${workshop.count}`;
    $('present-prev').disabled = current === 1;
    $('present-next').disabled = current === workshop.count;
    if (document.body.classList.contains('presenting')) history.replaceState(null, '', `${location.search}#step-${current}`);
    if (announce) channel?.postMessage({ type: 'goto', step: current });
  }

  function present(/** @type {boolean} */ on) {
    document.body.classList.toggle('presenting', on);
    toggle.setAttribute('aria-pressed', String(on));
    toggle.textContent = on ? 'Leave presenter view' : 'Presenter view';
    show(current, false);
    if (on) $(`workshop-title-${current}`)?.scrollIntoView({ block: 'start' });
  }

  function reset(/** @type {boolean} */ announce) {
    workshop.clear();
    show(1, false);
    $('present-status').textContent = 'Reset: every step cleared, back to step 1.';
    if (announce) channel?.postMessage({ type: 'reset' });
  }

  toggle.addEventListener('click', () => present(!document.body.classList.contains('presenting')));
  $('present-prev').addEventListener('click', () => show(current - 1, true));
  $('present-next').addEventListener('click', () => show(current + 1, true));
  $('present-reset').addEventListener('click', () => reset(true));
  channel?.addEventListener('message', (event) => {
    if (event.data?.type === 'goto') show(event.data.step, false);
    if (event.data?.type === 'reset') reset(false);
  });
  document.addEventListener('keydown', (event) => {
    if (!document.body.classList.contains('presenting') || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = /** @type {HTMLElement} */ (event.target);
    if (target.closest('input, select, textarea')) return;
    const onControl = target.closest('button, a');
    const moves = { ArrowRight: 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 };
    if (event.key in moves) show(current + moves[/** @type {keyof typeof moves} */ (event.key)], true);
    else if (event.key === 'Home') show(1, true);
    else if (event.key === 'Enter' && !onControl) workshop.run(current);
    else if (event.key === 'Escape') present(false);
    else return;
    event.preventDefault();
  });
  const fromHash = /^#step-(\d+)$/.exec(location.hash);
  show(fromHash ? Number(fromHash[1]) : 1, false);
  if (new URLSearchParams(location.search).has('present')) present(true);
}
