import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { MAX_PATIENCE_FACTOR, PATIENCE_MARGIN, TEST_PATIENCE_ENV } from './defaults.ts';

/**
 * Hang guards that know how busy the machine is.
 *
 * A test's own timeout, a deadline on a call it makes, or a wait for a journal entry is
 * there to end a hang, not to judge a latency (latencies are judged against the reference
 * process, see judging.ts). On a quiet machine the guard is the figure written in the
 * test; on a busy runner every step of the work takes longer by about how many runnable
 * tasks share each core, and a fixed 5 s guard ends a healthy test that is only slow.
 * `patience(ms)` stretches the guard by that factor, measured when the guard is set:
 *
 * ```ts
 * test('…', { timeout: patience(20_000) }, async () => {
 *   await client.callTool(req, undefined, { timeout: patience(5_000) });
 *   await fake.journal.waitFor(pred, patience(2_000));
 * });
 * ```
 *
 * The factor is the larger of the one-minute load average and the number of tasks
 * runnable right now (Linux `/proc/loadavg`), per core, times PATIENCE_MARGIN, clamped
 * to [1, MAX_PATIENCE_FACTOR]. SB_TEST_PATIENCE fixes it instead. Judged bounds never
 * go through here: a bound stretched with the load would stop catching the stall it is
 * there to catch.
 */
export function patience(ms: number): number {
  return Math.ceil(ms * machineSlowdown());
}

/** The factor `patience` applies now (1 on a quiet machine). */
export function machineSlowdown(env: NodeJS.ProcessEnv = process.env): number {
  const fixed = patienceFromEnv(env);
  if (fixed !== null) return fixed;
  return slowdownFor(loadavg()[0] ?? 0, runnableNow(), availableParallelism());
}

/** The factor for a load average, a count of runnable tasks (null when unknown) and a core count. */
export function slowdownFor(load1: number, runnable: number | null, cores: number): number {
  const perCore = Math.max(load1, runnable ?? 0) / Math.max(1, cores);
  return Math.min(MAX_PATIENCE_FACTOR, Math.max(1, perCore * PATIENCE_MARGIN));
}

/** SB_TEST_PATIENCE as a factor, null when unset; anything but a number >= 1 is an error. */
export function patienceFromEnv(env: NodeJS.ProcessEnv): number | null {
  const raw = env[TEST_PATIENCE_ENV]?.trim();
  if (raw === undefined || raw === '') return null;
  const factor = Number(raw);
  if (!Number.isFinite(factor) || factor < 1) throw new RangeError(`${TEST_PATIENCE_ENV} takes a number >= 1, got "${raw}"`);
  return factor;
}

/**
 * Tasks runnable at this moment, the reader included (the fourth field of /proc/loadavg,
 * "running/total"), or null where there is no such file. The load average lags a load
 * that has just started by up to a minute; this count does not.
 */
function runnableNow(): number | null {
  try {
    const running = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3]?.split('/')[0]);
    return Number.isFinite(running) ? Math.max(0, running - 1) : null;
  } catch {
    return null;
  }
}

/**
 * Polls `cond` every 5 ms until it holds, or throws after `ms` of patience (stretched on a
 * busy machine, as every guard here): for tests that wait on a background effect.
 */
export async function waitUntil(cond: () => boolean, ms: number, what = 'condition'): Promise<void> {
  const allowed = patience(ms);
  const end = performance.now() + allowed;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`${what} not met within ${allowed} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
