import { readFileSync } from 'node:fs';

/**
 * How long a thread was ready to run but waited for a CPU, from the kernel's scheduler
 * statistics (`/proc/<pid>/task/<tid>/schedstat`: time on a CPU, time waiting on a run
 * queue, timeslices; nanoseconds). That wait is the machine's share of a call's wall time
 * and none of the server's: a thread blocked in a write or on a lock sleeps and is not on
 * a run queue, so a blocked loop is never counted as the machine's, while a loop whose
 * work was delayed by other processes on a loaded runner is.
 *
 * Read synchronously on purpose: a procfs read never touches a disk (about 20 µs here),
 * and the figure must be taken at the instant a call starts and ends, not a turn later.
 * Linux only; elsewhere, or once the process is gone, the functions return null and the
 * probes judge the wall time as it is.
 */

export interface SchedFigures {
  /** Time the thread ran on a CPU, ms. */
  runMs: number;
  /** Time it was runnable and waited for a CPU, ms. */
  waitMs: number;
}

/** The scheduler figures of one thread (`tid` defaults to the main thread), or null. */
export function schedOf(pid: number, tid: number = pid): SchedFigures | null {
  if (!pid) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
  } catch {
    return null;
  }
  const [run, wait] = text.trim().split(/\s+/).map(Number);
  if (run === undefined || wait === undefined || !Number.isFinite(run) || !Number.isFinite(wait)) return null;
  return { runMs: run / 1e6, waitMs: wait / 1e6 };
}

/** What a thread waited for a CPU between two readings, ms; null when either is missing. */
export function waitBetween(before: SchedFigures | null, after: SchedFigures | null): number | null {
  if (!before || !after) return null;
  return Math.max(0, after.waitMs - before.waitMs);
}
