/**
 * One time base for everything the harness records: wall-clock milliseconds with
 * sub-millisecond precision. Wall time (not `performance.now()`) because the fake's
 * journal may live in another process (the preload inside the server), and the only
 * clock two processes share is the wall clock.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

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
