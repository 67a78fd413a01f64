/**
 * Abortable waits. We do not trust library sleeps to honour the signal (cockatiel's retry
 * delay and some SDK polling helpers ignore it — KI-03), so every wait in the server goes
 * through here.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { abortReasonToError } from '../errors.ts';
import { DEFAULTS } from '../config/defaults.ts';

/**
 * Sleeps `ms`, rejecting with SB_ERR_CANCELLED / SB_ERR_DEADLINE_EXCEEDED as soon as
 * `signal` aborts. The timer does not keep the process alive unless `keepAlive`.
 */
export async function sleep(ms: number, signal?: AbortSignal, options: { keepAlive?: boolean } = {}): Promise<void> {
  if (signal?.aborted) throw abortReasonToError(signal.reason);
  if (ms <= 0) return;
  try {
    await delay(ms, undefined, { signal, ref: options.keepAlive ?? false });
  } catch (err) {
    if (signal?.aborted) throw abortReasonToError(signal.reason);
    throw err;
  }
}

/**
 * Sleeps `ms` while reporting progress at least every `intervalMs` (KI-06: a client with
 * resetTimeoutOnProgress must never time out on a healthy wait). `describe(remainingMs)`
 * produces the message, e.g. "throttled by openai, retrying in 12 s".
 */
export async function sleepWithProgress(
  ms: number,
  signal: AbortSignal | undefined,
  report: ((message: string) => void) | undefined,
  describe: (remainingMs: number) => string,
  intervalMs: number = DEFAULTS.PROGRESS_INTERVAL_MS,
  keepAlive = false,
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const remaining = end - Date.now();
    if (remaining <= 0) return;
    report?.(describe(remaining));
    await sleep(Math.min(remaining, intervalMs), signal, { keepAlive });
  }
}
