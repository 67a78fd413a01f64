/**
 * The calling thread's own CPU time in ms (user + system), for a bound on what a
 * synchronous loop costs: other processes on a loaded machine take the CPU away from it
 * (which a wall-clock bound counts) but do not add to its CPU time, while a slower
 * loop (more work per call) still does.
 *
 * ```ts
 * const t0 = threadCpuMs();
 * for (let i = 0; i < 10_000; i++) cheapCall();
 * assert.ok(threadCpuMs() - t0 < 200);
 * ```
 */
export function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}
