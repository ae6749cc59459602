// bridge.js: the page's only way to the worker. It owns the Worker, exposes
// async methods, forwards progress, and when the worker dies (a crash, out
// of memory) rejects what was pending, tells the page, and starts a fresh
// worker on the next call.
export class Bridge {
  constructor(url = new URL('./worker.js', import.meta.url)) {
    this.url = url;
    this.worker = null;
    this.nextId = 1;
    this.pending = new Map();
    this.onCrash = null; // (message) => void
  }

  /** Starts the worker, or adopts one already started (web/boot.js). */
  start(worker = null) {
    if (this.worker) return;
    this.worker = worker ?? new Worker(this.url, { type: 'module' });
    this.worker.onmessage = (ev) => {
      const { id, result, error, progress } = ev.data;
      const call = this.pending.get(id);
      if (!call) return;
      if (progress !== undefined) return call.onProgress?.(progress);
      this.pending.delete(id);
      if (error !== undefined) call.reject(new Error(error));
      else call.resolve(result);
    };
    const die = (message) => {
      this.worker?.terminate();
      this.worker = null;
      for (const call of this.pending.values()) call.reject(new Error(message));
      this.pending.clear();
      this.onCrash?.(message);
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      die(`the worker crashed: ${ev.message || 'unknown error'}`);
    };
    this.worker.onmessageerror = () => die('the worker sent a message that could not be read');
  }

  /** Calls a worker method; onProgress receives its progress events. */
  call(method, args = {}, { onProgress, transfer = [] } = {}) {
    this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }

  /** Ends the worker now (all its state is lost); the next call starts a new one. */
  terminate(reason = 'the worker was stopped') {
    if (!this.worker) return;
    this.worker.terminate();
    this.worker = null;
    for (const call of this.pending.values()) call.reject(new Error(reason));
    this.pending.clear();
  }

  get busy() { return this.pending.size > 0; }
}
