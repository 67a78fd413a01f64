/**
 * One time base for everything the harness records: wall-clock milliseconds with
 * sub-millisecond precision. Wall time (not `performance.now()`) because the fake's
 * journal may live in another process (the preload inside the server), and the only
 * clock two processes share is the wall clock.
 */
export function nowMs(): number {
  // performance.timeOrigin is fixed when the process starts, so timeOrigin + now() stops
  // following the system clock once it is stepped: in one run the clock moved about 6 s
  // mid-suite, every fake started after that stamped its journal 6 s "later" than the
  // harness's marks, and nine scenarios read their journals wrong. The offset is taken
  // again from Date.now() whenever the two part by more than CLOCK_RESYNC_MS, keeping the
  // sub-millisecond steps of performance.now() in between.
  const mono = performance.now();
  const wall = Date.now();
  if (Math.abs(mono + wallOffsetMs - wall) > CLOCK_RESYNC_MS) wallOffsetMs = wall - mono;
  return mono + wallOffsetMs;
}

/**
 * How far the harness clock may drift from the system clock before it is set again, ms:
 * small, because another process's stamps (the fake's `Date.now()`, whole ms) are
 * compared with these.
 */
const CLOCK_RESYNC_MS = 2;
/**
 * How far two processes' stamps of the same instant can differ, ms: each clock within
 * CLOCK_RESYNC_MS of the system clock, plus the millisecond `Date.now()` truncates. An
 * order between a harness stamp and a fake's journal stamp holds only beyond this.
 */
export const CROSS_PROCESS_CLOCK_TOLERANCE_MS = 2 * CLOCK_RESYNC_MS + 1;
let wallOffsetMs = Date.now() - performance.now();

/**
 * Resolves after `ms`, or rejects when `signal` aborts. The timer keeps the process
 * alive on purpose: the harness awaits it, and between two server processes nothing
 * else may be holding the event loop open.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
