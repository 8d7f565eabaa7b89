// Running: the Run button sends the settings to the engine, which runs only the models whose
// signals the settings invalidate; progress, cancellation (which stops the worker and so
// loses what was loaded), what ran and how long it took, and the WebGPU check.

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

const WEBGPU_CHECK_RECORDS = 200;

/** A progress report in words, e.g. "running 16 reference models: 5 of 16". */
export function progressWords(/** @type {string} */ step, /** @type {number} */ done, /** @type {number} */ total) {
  if (step === 'reference models') return `running ${total} reference models: ${done} of ${total}`;
  if (step === 'inference') return `running the model: ${done.toLocaleString('en')} of ${total.toLocaleString('en')} records`;
  if (step === 'attacks') return `scoring the attacks: ${done} of ${total}`;
  if (step.startsWith('reading ')) return `${step}: ${(done / 1e6).toFixed(0)} of ${(total / 1e6).toFixed(0)} MB`;
  return total > 1 ? `${step}: ${done} of ${total}` : step;
}

/** @type {((words: string) => void)[]} */
const listeners = [];

/** Calls `listen` with the words of every progress report from now on. */
export function onProgress(/** @type {(words: string) => void} */ listen) {
  listeners.push(listen);
}

/** @param {number} done @param {number} total @param {string} step */
export function progress(step, done, total) {
  $('progress').max = Math.max(total, 1);
  $('progress').value = done;
  const words = progressWords(step, done, total);
  $('progress-text').textContent = words;
  for (const listen of listeners) listen(words);
}

/**
 * What the engine computed for a run, in words: "models: cached" when nothing ran.
 * @param {{cached: boolean, computed: {part: string, seconds: number}[], attackSeconds: number, beforehand?: {ran: string, where: string, seconds: number}}} run
 */
export function describeRun(run) {
  const models = run.cached ? 'models: cached (no model ran again)' : `models ran: ${run.computed.map((c) => `${c.part} ${c.seconds.toFixed(1)} s`).join(', ')}`;
  const beforehand = run.beforehand ? `${run.beforehand.ran} ran ${run.beforehand.where} first: ${run.beforehand.seconds.toFixed(1)} s; ` : '';
  return `${beforehand}${models}; attacks: ${run.attackSeconds.toFixed(2)} s`;
}

/**
 * @param {import('./store.js').Store} store
 * @param {import('./engine.js').Engine} engine
 * @param {{config: () => any}} attacks
 * @param {(result: any) => void} show
 */
export function setupRun(store, engine, attacks, show) {
  const workersInput = /** @type {HTMLInputElement} */ ($('engine-workers'));
  workersInput.value = String(navigator.hardwareConcurrency || 1);
  /** The model threads asked for, within 1..64. */
  const chosenWorkers = () => Math.max(1, Math.min(64, Math.floor(Number(workersInput.value)) || 1));
  // The threads start (and compile the engine) while the user chooses, not when the audit does.
  const warm = () => engine.call('warmPool', [chosenWorkers()]).catch(() => {});
  workersInput.addEventListener('change', warm);
  warm();
  const setError = (/** @type {string} */ id, /** @type {string} */ message) => {
    $(id).textContent = message || '';
  };

  /** Runs an audit with `settings` in the engine; resolves to its result. @param {any} settings */
  async function audit(settings) {
    const choice = /** @type {HTMLSelectElement} */ ($('engine-choice')).value;
    const chosen = { ...settings, signals: { ...settings.signals, backend: choice === 'webgpu' ? 'gpu' : choice } };
    const workers = chosenWorkers();
    const result = await engine.call('audit', [JSON.stringify(chosen), choice, workers]);
    $('run-info').textContent = describeRun(result.run);
    $('run-info').dataset.cached = String(result.run.cached);
    $('run-info').dataset.attackSeconds = String(result.run.attackSeconds);
    return result;
  }

  async function onRun() {
    setError('run-error', '');
    const settings = attacks.config();
    if (settings.attacks.length === 0) {
      setError('run-error', 'choose at least one attack');
      return;
    }
    store.update({ busy: true });
    $('cancel').disabled = false;
    try {
      progress('running', 0, 1);
      const result = await audit(settings);
      progress('done', 1, 1);
      store.update({ result });
      show(result);
    } catch (e) {
      if (e.message === 'cancelled') {
        setError('run-error', 'Cancelled. The engine was stopped, so inputs must be loaded again.');
        store.clearInputs();
      } else setError('run-error', e.message);
    } finally {
      $('cancel').disabled = true;
      store.update({ busy: false });
    }
  }

  async function onWebgpuCheck() {
    setError('webgpu-error', '');
    $('webgpu-result').textContent = 'running the models on WebGPU and on the CPU…';
    store.update({ busy: true });
    try {
      const r = await engine.call('webgpuCheck', [WEBGPU_CHECK_RECORDS]);
      if (!r.available) {
        $('webgpu-result').textContent = `WebGPU not used: ${r.reason}. The audit runs on the CPU.`;
        return;
      }
      const rate = (/** @type {number} */ v) =>
        `${Math.round(v).toLocaleString()} records×models/s, ${((v * r.flopsPerRecord) / 1e9).toFixed(2)} GFLOP/s`;
      $('webgpu-result').textContent =
        `WebGPU adapter: ${r.adapter}${r.software ? ' (a software adapter on the CPU)' : ''}. ` +
        `${r.models} model${r.models > 1 ? 's' : ''} × ${r.records} records in the dispatches ${r.kernels}: WebGPU ${r.gpuSeconds.toFixed(2)} s (${rate(r.gpuRate)}, all models per dispatch), ` +
        `${r.cpuEngine} ${r.cpuSeconds.toFixed(2)} s (${rate(r.cpuRate)}); ` +
        `the first (direct) kernels ${rate(r.directRate)} over the first ${r.directRecords} records; ` +
        `largest difference between the WebGPU and CPU outputs ${r.maxAbsDiff.toExponential(2)}.`;
      $('webgpu-result').dataset.maxAbsDiff = String(r.maxAbsDiff);
    } catch (e) {
      $('webgpu-result').textContent = '';
      setError('webgpu-error', e.message);
    } finally {
      store.update({ busy: false });
    }
  }

  function renderButtons(/** @type {import('./store.js').State} */ state) {
    const ready = !state.busy && Boolean(state.model && state.records);
    $('run').disabled = !ready;
    $('webgpu-check').disabled = !ready;
  }

  engine.onProgress = (p) => progress(p.step, p.done, p.total);
  $('run').addEventListener('click', onRun);
  $('cancel').addEventListener('click', () => engine.cancel());
  $('webgpu-check').addEventListener('click', onWebgpuCheck);
  $('engine-status').textContent += 'gpu' in navigator ? ' This browser offers WebGPU: check it below.' : ' This browser offers no WebGPU.';
  store.subscribe(renderButtons);
  return { audit };
}
