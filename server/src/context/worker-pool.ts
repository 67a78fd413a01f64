/**
 * A small pool of worker threads for CPU-heavy text work (tokenising, sha256), so megabytes of
 * context never run on the event loop (KI-12, KI-20: the loop must keep answering pings).
 *
 * Bounded everywhere: a fixed number of threads, a bounded job queue (callers past the bound
 * wait for room, and those waits are counted), and every wait honours an AbortSignal. A job
 * whose signal fires is dropped from the queue, or, when already running, rejected at once
 * while the worker is told through a shared flag to stop at its next text boundary.
 * Idle workers are unref'd so they never keep the process alive; `close()` terminates them.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, SbError, abortReasonToError, throwIfAborted } from '../errors.ts';

/** What a job asks a worker to do with its texts. */
export interface TextJob {
  texts: string[];
  /** Count o200k tokens of each text. */
  count: boolean;
  /** sha256 (hex) of each text as UTF-8. */
  hash: boolean;
}

export interface TextJobResult {
  tokens?: number[];
  sha256?: string[];
}

/** Message a worker receives. */
export interface WorkerRequest extends TextJob { id: number }
/** Message a worker sends back. */
export type WorkerReply =
  | { id: number; ok: true; tokens?: number[]; sha256?: string[] }
  | { id: number; ok: false; cancelled?: boolean; error?: string };

export interface WorkerPoolStats {
  /** Threads allowed. */
  size: number;
  /** Threads alive. */
  workers: number;
  /** Threads running a job (including a cancelled one that has not stopped yet). */
  busy: number;
  /** Jobs waiting for a thread, and the bound. */
  queued: number;
  queueMax: number;
  /** Callers waiting for room in a full queue now, and how many times that happened. */
  waitingForRoom: number;
  queueFullWaits: number;
  completed: number;
  cancelled: number;
  failed: number;
  /** Threads that died and were replaced. */
  crashed: number;
}

export interface WorkerPoolOptions {
  /** Worker module (a .ts file; Node strips its types). */
  url: URL;
  /** Threads, at least 1. */
  size: number;
  /** Queued jobs at most, at least 1. */
  queueMax: number;
}

interface Job {
  id: number;
  payload: TextJob;
  resolve: (r: TextJobResult) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
  slot?: Slot;
  settled: boolean;
}

interface Slot {
  worker: Worker;
  /** Shared with the worker: the id of the job it should abandon. */
  cancel: Int32Array;
  job?: Job;
  /** Id the worker is running (stays set after a cancel until the worker answers). */
  runningId: number;
}

interface RoomWaiter { resolve: () => void; reject: (err: unknown) => void; signal: AbortSignal; onAbort: () => void }

export class TextWorkerPool {
  readonly #opts: WorkerPoolOptions;
  readonly #slots = new Set<Slot>();
  readonly #queue: Job[] = [];
  readonly #roomWaiters: RoomWaiter[] = [];
  #nextId = 1;
  #closed = false;
  readonly #counters = { completed: 0, cancelled: 0, failed: 0, crashed: 0, queueFullWaits: 0 };

  constructor(opts: WorkerPoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new RangeError(`worker pool size must be a positive integer, got ${opts.size}`);
    if (!Number.isInteger(opts.queueMax) || opts.queueMax < 1) throw new RangeError(`worker pool queueMax must be a positive integer, got ${opts.queueMax}`);
    this.#opts = opts;
  }

  /** Runs one job on a worker thread. Rejects with SB_ERR_CANCELLED/DEADLINE_EXCEEDED on abort, SB_ERR_SHUTTING_DOWN after `close()`. */
  async run(payload: TextJob, signal: AbortSignal): Promise<TextJobResult> {
    this.#assertOpen();
    throwIfAborted(signal);
    while (this.#queue.length >= this.#opts.queueMax) {
      this.#counters.queueFullWaits++;
      await this.#waitForRoom(signal);
      this.#assertOpen();
    }
    return new Promise<TextJobResult>((resolve, reject) => {
      const job: Job = {
        id: this.#nextId++, payload, resolve, reject, signal, settled: false,
        onAbort: () => this.#abortJob(job),
      };
      signal.addEventListener('abort', job.onAbort, { once: true });
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  stats(): WorkerPoolStats {
    let busy = 0;
    for (const s of this.#slots) if (s.runningId !== 0) busy++;
    return {
      size: this.#opts.size, workers: this.#slots.size, busy, queued: this.#queue.length, queueMax: this.#opts.queueMax,
      waitingForRoom: this.#roomWaiters.length, ...this.#counters,
    };
  }

  /** Rejects every pending job with SB_ERR_SHUTTING_DOWN and terminates the threads. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const err = new SbError(ErrorCode.SHUTTING_DOWN, 'Failed to prepare context: the server is shutting down.');
    for (const job of this.#queue.splice(0)) this.#settle(job, err);
    for (const w of this.#roomWaiters.splice(0)) {
      w.signal.removeEventListener('abort', w.onAbort);
      w.reject(err);
    }
    const exits: Promise<number>[] = [];
    for (const slot of this.#slots) {
      if (slot.job) this.#settle(slot.job, err);
      exits.push(slot.worker.terminate());
    }
    this.#slots.clear();
    await Promise.allSettled(exits);
  }

  #assertOpen(): void {
    if (this.#closed) throw new SbError(ErrorCode.SHUTTING_DOWN, 'Failed to prepare context: the server is shutting down.');
  }

  #waitForRoom(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const w: RoomWaiter = {
        resolve, reject, signal,
        onAbort: () => {
          const i = this.#roomWaiters.indexOf(w);
          if (i >= 0) this.#roomWaiters.splice(i, 1);
          reject(abortReasonToError(signal.reason));
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.#roomWaiters.push(w);
    });
  }

  #wakeRoomWaiter(): void {
    while (this.#roomWaiters.length > 0 && this.#queue.length < this.#opts.queueMax) {
      const w = this.#roomWaiters.shift()!;
      w.signal.removeEventListener('abort', w.onAbort);
      w.resolve();
      // One waiter per free place; it re-checks the bound itself.
      break;
    }
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of this.#slots) if (s.runningId === 0) { slot = s; break; }
      if (!slot && this.#slots.size < this.#opts.size) slot = this.#spawn();
      if (!slot) break;
      const job = this.#queue.shift()!;
      job.slot = slot;
      slot.job = job;
      slot.runningId = job.id;
      slot.worker.ref();
      const msg: WorkerRequest = { id: job.id, ...job.payload };
      slot.worker.postMessage(msg);
    }
    this.#wakeRoomWaiter();
  }

  #spawn(): Slot {
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(this.#opts.url, { workerData: { cancel: cancel.buffer } });
    worker.unref();
    const slot: Slot = { worker, cancel, runningId: 0 };
    worker.on('message', (reply: WorkerReply) => this.#onReply(slot, reply));
    worker.on('error', (err) => this.#onWorkerGone(slot, err));
    worker.on('exit', (code) => this.#onWorkerGone(slot, new Error(`worker exited with code ${code}`)));
    this.#slots.add(slot);
    return slot;
  }

  #onReply(slot: Slot, reply: WorkerReply): void {
    if (reply.id !== slot.runningId) return;
    const job = slot.job;
    slot.job = undefined;
    slot.runningId = 0;
    slot.worker.unref();
    if (job && !job.settled) {
      if (reply.ok) {
        this.#counters.completed++;
        this.#settle(job, undefined, { tokens: reply.tokens, sha256: reply.sha256 });
      } else {
        this.#counters.failed++;
        this.#settle(job, new SbError(ErrorCode.INTERNAL, `Failed to process context text: ${reply.error ?? 'worker error'}. Try again.`));
      }
    }
    this.#dispatch();
  }

  #onWorkerGone(slot: Slot, err: unknown): void {
    if (!this.#slots.delete(slot)) return;
    this.#counters.crashed++;
    if (slot.job) {
      this.#counters.failed++;
      this.#settle(slot.job, new SbError(ErrorCode.INTERNAL, 'Failed to process context text: a worker thread stopped. Try again.', { cause: err }));
    }
    slot.worker.terminate().catch(() => {});
    if (!this.#closed) this.#dispatch();
  }

  #abortJob(job: Job): void {
    if (job.settled) return;
    const i = this.#queue.indexOf(job);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      this.#wakeRoomWaiter();
    } else if (job.slot) {
      // The worker checks this between texts; its late reply is ignored (job already settled).
      Atomics.store(job.slot.cancel, 0, job.id);
    }
    this.#counters.cancelled++;
    this.#settle(job, abortReasonToError(job.signal.reason));
  }

  #settle(job: Job, err: unknown, result?: TextJobResult): void {
    if (job.settled) return;
    job.settled = true;
    job.signal.removeEventListener('abort', job.onAbort);
    if (err !== undefined) job.reject(err);
    else job.resolve(result!);
  }
}
