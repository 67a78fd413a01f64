/**
 * The one abortable FIFO semaphore of the server: the gather limiter, the adaptive upload
 * concurrency and the test-only shared permit are all this, with their own limit.
 *
 * Hand-written (about 60 lines) because none of the small libraries at hand (p-limit,
 * async-sema, async-mutex) offers all three things needed here: a waiter that leaves the
 * queue at once when its AbortSignal fires, a limit that may change while callers wait
 * (adaptive concurrency), and figures (in use, waiting, highest in use) for diagnostics.
 * FIFO: a caller never overtakes one already waiting.
 */
import { addAbortListener } from 'node:events';
import { abortReasonToError } from '../errors.ts';

interface Waiter { resolve: () => void; detach?: Disposable }

export interface SemaphoreStats {
  /** Slots allowed now. */
  size: number;
  /** Slots held now. */
  inUse: number;
  /** Callers waiting for a slot now. */
  waiting: number;
  /** Highest `inUse` seen. */
  maxInUse: number;
}

export class Semaphore {
  readonly #limit: () => number;
  #inUse = 0;
  #maxInUse = 0;
  readonly #waiters: Waiter[] = [];

  /** A fixed number of slots, or a function read whenever a slot could be granted (call `pump()` after it grows). */
  constructor(limit: number | (() => number)) {
    if (typeof limit === 'number') {
      if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore size must be a positive integer, got ${limit}`);
      this.#limit = () => limit;
    } else {
      this.#limit = limit;
    }
  }

  get inUse(): number { return this.#inUse; }
  get waiting(): number { return this.#waiters.length; }
  get maxInUse(): number { return this.#maxInUse; }

  /** Waits for a slot. Rejects with the abort reason (as an SbError) if `signal` fires first; the caller holds nothing then. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReasonToError(signal.reason));
    if (this.#waiters.length === 0 && this.#inUse < this.#limit()) {
      this.#take();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve };
      if (signal) {
        w.detach = addAbortListener(signal, () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(abortReasonToError(signal.reason));
        });
      }
      this.#waiters.push(w);
    });
  }

  /** Returns a slot; the longest waiter gets it if the limit allows. */
  release(): void {
    if (this.#inUse === 0) throw new Error('semaphore released more often than acquired');
    this.#inUse--;
    this.pump();
  }

  /** Grants slots to waiters while the limit allows (after the limit grew). */
  pump(): void {
    while (this.#waiters.length > 0 && this.#inUse < this.#limit()) {
      const w = this.#waiters.shift()!;
      w.detach?.[Symbol.dispose]();
      this.#take();
      w.resolve();
    }
  }

  /** Runs `fn` while holding a slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  stats(): SemaphoreStats {
    return { size: this.#limit(), inUse: this.#inUse, waiting: this.#waiters.length, maxInUse: this.#maxInUse };
  }

  #take(): void {
    this.#inUse++;
    if (this.#inUse > this.#maxInUse) this.#maxInUse = this.#inUse;
  }
}
