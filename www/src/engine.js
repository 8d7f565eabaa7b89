// The page's handle on the engine worker: promise-based calls, progress callbacks, and
// cancellation (terminate the worker; the next call starts a fresh one).

export class Engine {
  constructor() {
    /** @type {Worker | null} */
    this.worker = null;
    this.nextId = 1;
    /** @type {Map<number, {resolve: Function, reject: Function}>} */
    this.pending = new Map();
    /** @type {(p: {step: string, done: number, total: number}) => void} */
    this.onProgress = () => {};
    /** Counts the workers this engine started: what the page kept about one is stale in the next. */
    this.generation = 0;
  }

  start() {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.generation += 1;
    worker.onmessage = (event) => {
      const data = event.data;
      if (data.progress) {
        this.onProgress(data.progress);
        return;
      }
      const entry = this.pending.get(data.id);
      if (!entry) return;
      this.pending.delete(data.id);
      if (data.ok) entry.resolve(data.result);
      else entry.reject(new Error(data.error));
    };
    worker.onerror = (event) => {
      const error = new Error(`the engine stopped: ${event.message || 'unknown error'}`);
      for (const entry of this.pending.values()) entry.reject(error);
      this.pending.clear();
      this.worker = null;
    };
    this.worker = worker;
    return worker;
  }

  /**
   * Runs one engine operation in the worker.
   * @param {string} op
   * @param {any[]} args
   * @param {Transferable[]} [transfer]
   * @returns {Promise<any>}
   */
  call(op, args = [], transfer = []) {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, args }, transfer);
    });
  }

  /** Whether a call is still waiting for its answer. */
  running() {
    return this.pending.size > 0;
  }

  /** Stops whatever runs; loaded inputs are lost with the worker. */
  cancel() {
    if (!this.worker) return;
    this.worker.terminate();
    this.worker = null;
    const error = new Error('cancelled');
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
  }
}
