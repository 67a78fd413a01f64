/**
 * A small pool of worker threads for the context engine's heavy work (reading files,
 * tokenising, sha256), so it never runs on the event loop (KI-12, KI-20: the loop must keep
 * answering pings).
 *
 * Bounded everywhere: a fixed number of threads, a bounded job queue (callers past the bound
 * wait for room, and those waits are counted), and every wait honours an AbortSignal. A job
 * whose signal fires is dropped from the queue, or, when already running, rejected at once
 * while the worker is told through a shared flag to stop at its next item boundary.
 * Idle workers are unref'd so they never keep the process alive; `close()` terminates them.
 * Worker entry points use `serveJobs` from `worker-protocol.ts`.
 *
 * Hand-written rather than piscina or tinypool: both cancel a running task by terminating
 * its thread, which would throw away the tokenizer each thread loaded at warm-up (KI-20)
 * on every cancelled call; here a cancel is cooperative (a shared flag checked between
 * items) and the thread lives on. They also have no way to pace workers when the event
 * loop runs late (below), and no niced threads (`worker-protocol.ts`). Tested directly in
 * worker-pool.test.ts.
 */
import { addAbortListener } from 'node:events';
import { Worker } from 'node:worker_threads';
import { ErrorCode, SbError, abortReasonToError, throwIfAborted } from '../errors.ts';
import { DEFAULTS } from '../config/defaults.ts';

/** Message a worker receives. */
export interface WorkerRequest<J> { id: number; job: J }
/** Message a worker sends back. */
export type WorkerReply<R> =
  | { id: number; ok: true; result: R }
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
  /** Current pause (ms) workers take after each slice of work, and how often the pacer raised it. */
  pauseMs: number;
  pauseRaises: number;
}

export interface WorkerPoolOptions {
  /** Worker module (a .ts file; Node strips its types). */
  url: URL;
  /** Threads, at least 1. */
  size: number;
  /** Queued jobs at most, at least 1. */
  queueMax: number;
  /** Used in error messages: what the pool does ("process context text"). */
  purpose: string;
}

/**
 * Pacing. On a loaded machine (Linux groups a process's threads for CPU fairness), a worker
 * using a whole core makes the event-loop thread wait for its turn too: timers ran 50–200 ms
 * late while the main thread itself used under 1 ms. While jobs run, the pool therefore
 * probes its own timer lateness every PACE_PROBE_MS; when a probe is later than
 * PACE_LATE_MS, workers pause after every PACE_SLICE_MS of work (the pause doubling from
 * PACE_MIN_PAUSE_MS up to PACE_MAX_PAUSE_MS), and the pause halves after every
 * PACE_CALM_PROBES probes in a row that are on time. Contention tends to last, so the pause
 * lingers for a while. An idle machine never sees a pause.
 */
const PACE_PROBE_MS = DEFAULTS.WORKER_PACE_PROBE_MS;
const PACE_LATE_MS = DEFAULTS.WORKER_PACE_LATE_MS;
const PACE_ON_TIME_MS = DEFAULTS.WORKER_PACE_ON_TIME_MS;
const PACE_CALM_PROBES = DEFAULTS.WORKER_PACE_CALM_PROBES;
const PACE_MIN_PAUSE_MS = DEFAULTS.WORKER_PACE_MIN_PAUSE_MS;
const PACE_MAX_PAUSE_MS = DEFAULTS.WORKER_PACE_MAX_PAUSE_MS;
/** Work a worker does between two pauses, in ms (read by `worker-protocol.ts`). */
export const PACE_SLICE_MS = DEFAULTS.WORKER_PACE_SLICE_MS;

/**
 * Young-generation size of a worker isolate. Scavenges run on V8's helper threads, which are
 * shared with the main isolate and run at normal priority; a small nursery keeps each one
 * short (V8 otherwise grows it to tens of MB while tokenising and single scavenges took
 * 13–60 ms on this 2-core machine, competing with the event loop for a core).
 */
const YOUNG_GENERATION_MB = DEFAULTS.WORKER_YOUNG_GENERATION_MB;

interface Job<J, R> {
  id: number;
  payload: J;
  transfer: ArrayBuffer[];
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  /** Stops listening to the job's signal. */
  detach?: Disposable;
  slot?: Slot<J, R>;
  settled: boolean;
}

interface Slot<J, R> {
  worker: Worker;
  /** Shared with the worker: the id of the job it should abandon. */
  cancel: Int32Array;
  job?: Job<J, R>;
  /** Id the worker is running (stays set after a cancel until the worker answers). */
  runningId: number;
}

interface RoomWaiter { resolve: () => void; reject: (err: unknown) => void; detach?: Disposable }

export class WorkerPool<J, R> {
  readonly #opts: WorkerPoolOptions;
  readonly #slots = new Set<Slot<J, R>>();
  readonly #queue: Job<J, R>[] = [];
  readonly #roomWaiters: RoomWaiter[] = [];
  #nextId = 1;
  #closed = false;
  readonly #counters = { completed: 0, cancelled: 0, failed: 0, crashed: 0, queueFullWaits: 0, pauseRaises: 0 };
  /** Shared with every worker: the pause in µs after each slice of work (0 = none). */
  readonly #pause = new Int32Array(new SharedArrayBuffer(4));
  #probe: NodeJS.Timeout | undefined;
  #probeLast = 0;
  #calmProbes = 0;

  constructor(opts: WorkerPoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new RangeError(`worker pool size must be a positive integer, got ${opts.size}`);
    if (!Number.isInteger(opts.queueMax) || opts.queueMax < 1) throw new RangeError(`worker pool queueMax must be a positive integer, got ${opts.queueMax}`);
    this.#opts = opts;
  }

  /**
   * Runs one job on a worker thread; `transfer` buffers move to the worker (unusable here after).
   * Rejects with SB_ERR_CANCELLED/DEADLINE_EXCEEDED on abort, SB_ERR_SHUTTING_DOWN after `close()`.
   */
  async run(payload: J, signal: AbortSignal, transfer: ArrayBuffer[] = []): Promise<R> {
    this.#assertOpen();
    throwIfAborted(signal);
    while (this.#queue.length >= this.#opts.queueMax) {
      this.#counters.queueFullWaits++;
      await this.#waitForRoom(signal);
      this.#assertOpen();
    }
    return new Promise<R>((resolve, reject) => {
      const job: Job<J, R> = {
        id: this.#nextId++, payload, transfer, resolve, reject, signal, settled: false,
      };
      job.detach = addAbortListener(signal, () => this.#abortJob(job));
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  stats(): WorkerPoolStats {
    let busy = 0;
    for (const s of this.#slots) if (s.runningId !== 0) busy++;
    return {
      size: this.#opts.size, workers: this.#slots.size, busy, queued: this.#queue.length, queueMax: this.#opts.queueMax,
      waitingForRoom: this.#roomWaiters.length, ...this.#counters, pauseMs: Atomics.load(this.#pause, 0) / 1000,
    };
  }

  /** Rejects every pending job with SB_ERR_SHUTTING_DOWN and terminates the threads. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const err = this.#shuttingDown();
    for (const job of this.#queue.splice(0)) this.#settle(job, err);
    for (const w of this.#roomWaiters.splice(0)) {
      w.detach?.[Symbol.dispose]();
      w.reject(err);
    }
    const exits: Promise<number>[] = [];
    for (const slot of this.#slots) {
      if (slot.job) this.#settle(slot.job, err);
      exits.push(slot.worker.terminate());
    }
    this.#slots.clear();
    this.#stopProbe();
    await Promise.allSettled(exits);
  }

  #shuttingDown(): SbError {
    return new SbError(ErrorCode.SHUTTING_DOWN, `Failed to ${this.#opts.purpose}: the server is shutting down.`);
  }

  #assertOpen(): void {
    if (this.#closed) throw this.#shuttingDown();
  }

  #waitForRoom(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const w: RoomWaiter = { resolve, reject };
      w.detach = addAbortListener(signal, () => {
        const i = this.#roomWaiters.indexOf(w);
        if (i >= 0) this.#roomWaiters.splice(i, 1);
        reject(abortReasonToError(signal.reason));
      });
      this.#roomWaiters.push(w);
    });
  }

  /** Lets one waiter re-check the bound per free place in the queue. */
  #wakeRoomWaiter(): void {
    if (this.#roomWaiters.length > 0 && this.#queue.length < this.#opts.queueMax) {
      const w = this.#roomWaiters.shift()!;
      w.detach?.[Symbol.dispose]();
      w.resolve();
    }
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot: Slot<J, R> | undefined;
      for (const s of this.#slots) if (s.runningId === 0) { slot = s; break; }
      if (!slot && this.#slots.size < this.#opts.size) slot = this.#spawn();
      if (!slot) break;
      const job = this.#queue.shift()!;
      job.slot = slot;
      slot.job = job;
      slot.runningId = job.id;
      slot.worker.ref();
      const msg: WorkerRequest<J> = { id: job.id, job: job.payload };
      slot.worker.postMessage(msg, job.transfer);
    }
    this.#wakeRoomWaiter();
    this.#updateProbe();
  }

  /** Runs the lateness probe only while some worker is busy. */
  #updateProbe(): void {
    let busy = false;
    for (const s of this.#slots) if (s.runningId !== 0) { busy = true; break; }
    if (busy && !this.#probe) {
      this.#probeLast = performance.now();
      this.#probe = setInterval(() => this.#onProbe(), PACE_PROBE_MS);
      this.#probe.unref();
    } else if (!busy) {
      this.#stopProbe();
    }
  }

  #stopProbe(): void {
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = undefined;
    Atomics.store(this.#pause, 0, 0);
  }

  #onProbe(): void {
    const now = performance.now();
    const late = now - this.#probeLast - PACE_PROBE_MS;
    this.#probeLast = now;
    const pauseUs = Atomics.load(this.#pause, 0);
    if (late > PACE_LATE_MS) {
      this.#calmProbes = 0;
      this.#counters.pauseRaises++;
      Atomics.store(this.#pause, 0, Math.min(PACE_MAX_PAUSE_MS * 1000, Math.max(PACE_MIN_PAUSE_MS * 1000, pauseUs * 2)));
    } else if (late < PACE_ON_TIME_MS && pauseUs > 0 && ++this.#calmProbes >= PACE_CALM_PROBES) {
      this.#calmProbes = 0;
      const next = Math.floor(pauseUs / 2);
      Atomics.store(this.#pause, 0, next < PACE_MIN_PAUSE_MS * 1000 ? 0 : next);
    }
  }

  #spawn(): Slot<J, R> {
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    // A worker inherits the process's Node options, and `--input-type` (as in
    // `node --input-type=module -e …`) makes a file-based worker fail at start. An evaluated
    // one-line bootstrap that imports the module works under either input type.
    const worker = new Worker(`import(${JSON.stringify(this.#opts.url.href)});`, {
      eval: true,
      workerData: { cancel: cancel.buffer, pause: this.#pause.buffer },
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    worker.unref();
    const slot: Slot<J, R> = { worker, cancel, runningId: 0 };
    worker.on('message', (reply: WorkerReply<R>) => this.#onReply(slot, reply));
    worker.on('error', (err) => this.#onWorkerGone(slot, err));
    worker.on('exit', (code) => this.#onWorkerGone(slot, new Error(`worker exited with code ${code}`)));
    this.#slots.add(slot);
    return slot;
  }

  #onReply(slot: Slot<J, R>, reply: WorkerReply<R>): void {
    if (reply.id !== slot.runningId) return;
    const job = slot.job;
    slot.job = undefined;
    slot.runningId = 0;
    slot.worker.unref();
    if (job && !job.settled) {
      if (reply.ok) {
        this.#counters.completed++;
        this.#settle(job, undefined, reply.result);
      } else {
        this.#counters.failed++;
        this.#settle(job, new SbError(ErrorCode.INTERNAL, `Failed to ${this.#opts.purpose}: ${reply.error ?? 'worker error'}. Try again.`));
      }
    }
    this.#dispatch();
  }

  #onWorkerGone(slot: Slot<J, R>, err: unknown): void {
    if (!this.#slots.delete(slot)) return;
    this.#counters.crashed++;
    if (slot.job) {
      this.#counters.failed++;
      this.#settle(slot.job, new SbError(ErrorCode.INTERNAL, `Failed to ${this.#opts.purpose}: a worker thread stopped. Try again.`, { cause: err }));
    }
    slot.worker.terminate().catch(() => {});
    if (!this.#closed) this.#dispatch();
  }

  #abortJob(job: Job<J, R>): void {
    if (job.settled) return;
    const i = this.#queue.indexOf(job);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      this.#wakeRoomWaiter();
    } else if (job.slot) {
      // The worker checks this between items; its late reply is ignored (job already settled).
      Atomics.store(job.slot.cancel, 0, job.id);
    }
    this.#counters.cancelled++;
    this.#settle(job, abortReasonToError(job.signal.reason));
  }

  #settle(job: Job<J, R>, err: unknown, result?: R): void {
    if (job.settled) return;
    job.settled = true;
    job.detach?.[Symbol.dispose]();
    if (err !== undefined) job.reject(err);
    else job.resolve(result as R);
  }
}


/**
 * A pool made on first use and dropped on close (a later use makes a fresh one): the
 * reader, tokenizer and secret-screening threads each hold one, so a process that never
 * gathers context starts no thread, and shutdown can end them all.
 */
export class LazyWorkerPool<J, R> {
  #pool: WorkerPool<J, R> | undefined;
  readonly #options: () => WorkerPoolOptions;

  constructor(options: () => WorkerPoolOptions) {
    this.#options = options;
  }

  get(): WorkerPool<J, R> {
    this.#pool ??= new WorkerPool<J, R>(this.#options());
    return this.#pool;
  }

  /** Figures of the current pool, or undefined before its first use. */
  stats(): WorkerPoolStats | undefined {
    return this.#pool?.stats();
  }

  /** Terminates the threads; pending jobs fail with SB_ERR_SHUTTING_DOWN. */
  async close(): Promise<void> {
    const p = this.#pool;
    this.#pool = undefined;
    await p?.close();
  }
}
