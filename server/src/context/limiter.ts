/**
 * A FIFO counting semaphore, and the one process-wide instance that bounds file-system work
 * done while gathering context.
 *
 * KI-08/KI-12: every readdir, realpath, stat and file read of the context engine holds a slot
 * (a job on the reader thread holds one for its whole run, for its one descriptor), so at most
 * GATHER_CONCURRENCY (2) descriptors are open for gathering and at most that many libuv pool
 * threads (of 4) are busy with it, however many tool calls gather at once. DNS lookups and
 * other file work keep the remaining threads.
 */
import { DEFAULTS } from '../config/defaults.ts';
import { abortReasonToError, throwIfAborted } from '../errors.ts';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface LimiterStats {
  /** Slots. */
  size: number;
  /** Slots held now. */
  inUse: number;
  /** Callers waiting for a slot now. */
  waiting: number;
  /** Highest `inUse` seen. */
  maxInUse: number;
}

export class Limiter {
  readonly size: number;
  #inUse = 0;
  #maxInUse = 0;
  readonly #waiters: Waiter[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`Limiter size must be a positive integer, got ${size}`);
    this.size = size;
  }

  /** Waits for a slot. Rejects with the abort reason if `signal` fires first; the caller holds nothing then. */
  acquire(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (this.#inUse < this.size && this.#waiters.length === 0) {
      this.#take();
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(abortReasonToError(signal.reason));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiters.push(w);
    });
  }

  /** Returns a slot; hands it straight to the next waiter so no caller can overtake the queue. */
  release(): void {
    const next = this.#waiters.shift();
    if (next) {
      if (next.onAbort) next.signal!.removeEventListener('abort', next.onAbort);
      next.resolve();
      return;
    }
    this.#inUse--;
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

  stats(): LimiterStats {
    return { size: this.size, inUse: this.#inUse, waiting: this.#waiters.length, maxInUse: this.#maxInUse };
  }

  #take(): void {
    this.#inUse++;
    if (this.#inUse > this.#maxInUse) this.#maxInUse = this.#inUse;
  }
}

/** The process-wide gather limiter (GATHER_CONCURRENCY slots, default 2). */
export const gatherIoLimiter = new Limiter(DEFAULTS.GATHER_CONCURRENCY);
