/**
 * The one process-wide slot count that bounds file-system work done while gathering
 * context (a Semaphore, runtime/semaphore.ts).
 *
 * KI-08/KI-12: every readdir, realpath, stat and file read of the context engine holds a slot
 * (a job on the reader thread holds one for its whole run, for its one descriptor), so at most
 * GATHER_CONCURRENCY (2) descriptors are open for gathering and at most that many libuv pool
 * threads (of 4) are busy with it, however many tool calls gather at once. DNS lookups and
 * other file work keep the remaining threads.
 */
import { DEFAULTS } from '../config/defaults.ts';
import { Semaphore, type SemaphoreStats } from '../runtime/semaphore.ts';

export type LimiterStats = SemaphoreStats;

/** The gather limiter's type: a fixed-size Semaphore. */
export class Limiter extends Semaphore {
  readonly size: number;

  constructor(size: number) {
    super(size);
    this.size = size;
  }
}

/** The process-wide gather limiter (GATHER_CONCURRENCY slots, default 2). */
export const gatherIoLimiter = new Limiter(DEFAULTS.GATHER_CONCURRENCY);
