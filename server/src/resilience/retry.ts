/**
 * The one retry engine of every upstream call: the chat providers (ProviderResilience)
 * and every vector-store request (stores, uploads, batches, the janitor). SDK clients
 * are built with maxRetries: 0; this decides every retry (KI-16, KI-17, KI-18, KI-22).
 *
 * - `decideRetry` is pure: from one classified failure (classify.ts), the tries so far
 *   and the budget, whether to try again and after how long.
 * - `retryUpstream` is the loop: waits out the account's throttle gate (throttle-gate.ts)
 *   before sending, records every 429 on it, sleeps between tries, ends at once on abort,
 *   and ends early with a clear error when the next try would start after the deadline.
 *
 * Written here rather than taken from a library: cockatiel's RetryPolicy delay does not
 * take the AbortSignal (checked in cockatiel 4.0 RetryPolicy.execute) and neither it nor
 * p-retry can take a per-error delay from `retry-after`, let alone share one across callers.
 */
import { DEFAULTS } from '../config/defaults.ts';
import { abortReasonToError } from '../errors.ts';
import { requestSignal } from '../runtime/deadline.ts';
import { withSpan } from '../telemetry/spans.ts';
import { ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SB_RETRY_AFTER_MS, ATTR_SB_RETRY_ATTEMPT, ATTR_SB_RETRY_DELAY_MS } from '../telemetry/semconv.ts';
import { classifyFailure, type UpstreamFailure } from './classify.ts';
import { sleepWithProgress } from './sleep.ts';
import type { ThrottleGate } from './throttle-gate.ts';
import { callFailureError, providerLabel, quotaError, throttledError } from './upstream-errors.ts';

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** Least delay returned. */
  floorMs?: number;
  /** 'full' (default): uniform in [0, ceiling]; 'none': the ceiling itself (deferred deletes). */
  jitter?: 'full' | 'none';
  random?: () => number;
}

/** Exponential backoff: the ceiling is min(cap, base * 2^attempt), full jitter below it by default. */
export function backoffMs(attempt: number, o: BackoffOptions): number {
  const ceiling = Math.min(o.capMs, o.baseMs * 2 ** attempt);
  const value = o.jitter === 'none' ? ceiling : Math.floor((o.random ?? Math.random)() * ceiling);
  return Math.max(o.floorMs ?? 0, value);
}

export interface RetryBudget {
  /** Tries in all for server and connection failures, the first included. */
  attempts: number;
  /**
   * Further tries after a 429, each after its wait, counted apart from `attempts` (a
   * throttle window is long but ends, KI-17). Undefined: a 429 counts as any failure.
   */
  rateLimitRetries?: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Least wait after a 429 that names none; a 429 with a wait closes the gate for it. 0: no floor, and the gate stays open. */
  rateLimitFloorMs?: number;
  random?: () => number;
}

export interface RetryContext {
  /** Failures counted against `attempts` before this one. */
  failures: number;
  /** 429s counted against `rateLimitRetries` before this one. */
  throttles: number;
  now: number;
  /** Absolute deadline (epoch ms) of the whole call; a retry that would start after it is not made. */
  deadline: number;
  /** Test-only defect `ignore-retry-after` (KI-17): retry at once, whatever the provider said. */
  ignoreRetryAfter?: boolean;
  /** Test-only defect `no-connection-retry` (KI-16): connection failures are final. */
  noConnectionRetry?: boolean;
}

export interface RetryDecision {
  retry: boolean;
  /** Why not: not retryable, quota exhausted, out of tries, or past the deadline. */
  why?: 'final' | 'quota' | 'attempts' | 'deadline';
  /** The wait before the next try. */
  delayMs: number;
  /** What the provider said to wait (retry-after, retry-after-ms, RetryInfo). */
  retryAfterMs?: number;
  /** The account-wide pause this failure calls for (a 429), whether or not it is retried. */
  throttleMs?: number;
}

/** Whether and when to try again after one failure. Pure: `now` and `random` are inputs. */
export function decideRetry(f: UpstreamFailure, ctx: RetryContext, budget: RetryBudget): RetryDecision {
  if (f.quota) return { retry: false, why: 'quota', delayMs: 0 };
  if (!f.retryable || (ctx.noConnectionRetry && f.status === undefined)) return { retry: false, why: 'final', delayMs: 0 };
  const apart = f.rateLimited && budget.rateLimitRetries !== undefined;
  const retryAfterMs = ctx.ignoreRetryAfter ? undefined : f.retryAfterMs;
  const floorMs = f.rateLimited ? budget.rateLimitFloorMs ?? 0 : 0;
  const delayMs = ctx.ignoreRetryAfter ? 0 : retryAfterMs ?? backoffMs(apart ? ctx.throttles : ctx.failures,
    { baseMs: budget.baseDelayMs, capMs: budget.maxDelayMs, floorMs, random: budget.random });
  const throttleMs = f.rateLimited && !ctx.ignoreRetryAfter && (retryAfterMs !== undefined || floorMs > 0) ? delayMs : undefined;
  const said = { delayMs, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...(throttleMs !== undefined ? { throttleMs } : {}) };
  const exhausted = apart ? ctx.throttles >= budget.rateLimitRetries! : ctx.failures + 1 >= budget.attempts;
  if (exhausted) return { retry: false, why: 'attempts', ...said };
  if (ctx.now + delayMs > ctx.deadline) return { retry: false, why: 'deadline', ...said };
  return { retry: true, ...said };
}

/**
 * Thrown by an attempt that found the gate closed before it sent anything (it queued for
 * a slot while another request met a 429): the loop waits at the gate again, and the
 * try is not counted.
 */
export class GateClosed extends Error {
  constructor() {
    super('the throttle gate closed before the request was sent');
    this.name = 'GateClosed';
  }
}

/** One retry about to wait, for tracing and metrics. */
export interface AttemptInfo { attempt: number; delayMs: number; retryAfterMs?: number; status?: number; reason: string }

/** A wait the caller's own guard asks for instead of a retry decision (the circuit breaker's half-open probe). */
export interface Hold { waitMs: number; span: string; describe: (remainingMs: number) => string }

export interface RetryUpstreamOptions extends Partial<RetryBudget> {
  signal: AbortSignal;
  /** Absolute deadline (epoch ms) of the whole call. Default: none but the signal. */
  deadline?: number;
  /** The provider account's throttle gate, waited before each try and closed by each 429. */
  gate?: ThrottleGate;
  /** For messages; default the gate's provider, else openai. */
  provider?: string;
  /** What the call is doing ("create response"), for messages. */
  what?: string;
  /**
   * A whole call (the chat providers): final failures become SbErrors for the user.
   * Otherwise a step: the raw upstream error is thrown for its caller to read (404, the
   * store limit), except a 429 that runs out, which is SB_ERR_RATE_LIMITED.
   */
  forCall?: boolean;
  /** Progress messages while waiting ("throttled, retrying in 12 s"). */
  progress?: (message: string) => void;
  /** How a throttle wait is announced: "throttled" (default) or "throttled by openai". */
  throttleLabel?: string;
  /** How a retry wait after a failure is announced; default "<provider> answered 503, retrying in N s". */
  retryMessage?: (f: UpstreamFailure, remainingMs: number) => string;
  /** Runs around each try (the circuit breaker, a test-only permit). */
  around?: <T>(attempt: () => Promise<T>) => Promise<T>;
  /** The caller's own reading of a failure before classification: a hold to wait, an error to throw, or undefined. */
  intercept?: (err: unknown, failures: number) => Hold | Error | undefined;
  /** Every classified failure, with the decision taken (counters, headroom). */
  onFailure?: (f: UpstreamFailure, d: RetryDecision) => void;
  /** Before each retry wait (tracing and metrics hook). */
  onRetry?: (info: AttemptInfo) => void;
  /** The error a failure that is not retried ends in, instead of the default. */
  giveUp?: (err: unknown, f: UpstreamFailure, d: RetryDecision, tries: { failures: number; throttles: number }) => Error;
  /**
   * Each try gets a child signal, released when it ends (default), or the call's signal
   * itself (false): an SDK page keeps its request's signal for getNextPage, so a listing
   * must not have it released under it.
   */
  signalPerTry?: boolean;
  /** Timers keep the process alive (work the process must stay for). */
  keepAlive?: boolean;
  ignoreRetryAfter?: boolean;
  noConnectionRetry?: boolean;
  /** Test-only defect `retry-sleep-ignores-signal` (KI-03): the wait between tries ignores the signal. */
  sleepIgnoresSignal?: boolean;
}

const PROGRESS_INTERVAL_MS = DEFAULTS.PROGRESS_INTERVAL_MS;

/** Waits until the gate opens; throws at once when it opens only after the deadline (KI-17). */
async function waitForGate(gate: ThrottleGate, o: RetryUpstreamOptions, provider: string, deadline: number): Promise<void> {
  const label = o.throttleLabel ?? 'throttled';
  for (;;) {
    const until = gate.until;
    const ms = until - Date.now();
    if (ms <= 0) return;
    if (until > deadline) {
      throw throttledError({ provider, untilMs: until, ...(o.forCall ? { retryAfterMs: ms } : { what: o.what ?? `call ${providerLabel(provider)}` }) });
    }
    // KI-20: a wait for a throttle window shows in the trace, like a retry wait.
    await withSpan('throttle.wait', { attributes: { [ATTR_SB_RETRY_DELAY_MS]: ms } }, () =>
      sleepWithProgress(ms, o.signal, o.progress, (r) => `${label}, retrying in ${Math.ceil(r / 1000)} s`, PROGRESS_INTERVAL_MS, o.keepAlive));
  }
}

function defaultGiveUp(o: RetryUpstreamOptions, provider: string, gate: ThrottleGate | undefined) {
  const what = o.what ?? (o.forCall ? 'request' : `call ${providerLabel(provider)}`);
  return (err: unknown, f: UpstreamFailure, d: RetryDecision, tries: { failures: number }): Error => {
    if (d.why === 'quota') return o.forCall ? quotaError(provider, what, err) : err as Error;
    if (d.why === 'final') return o.forCall ? callFailureError(provider, what, err) : err as Error;
    if (f.rateLimited) {
      if (o.forCall) return throttledError({ provider, untilMs: Date.now() + d.delayMs, retryAfterMs: d.retryAfterMs, exhausted: d.why === 'attempts', cause: err });
      return gate ? gate.throttledError(what, err) : throttledError({ provider, what, untilMs: Date.now() + Math.max(d.delayMs, DEFAULTS.RATE_LIMIT_MIN_WAIT_MS), cause: err });
    }
    if (!o.forCall) return err as Error;
    return callFailureError(provider, what, err, d.why === 'attempts' ? `gave up after ${tries.failures + 1} attempts` : 'the next retry would end after the call deadline');
  };
}

/**
 * Runs `fn` until it succeeds, fails for good, or runs out of tries or time. `fn`
 * receives the signal for its request: a child of `signal`, released when the try ends.
 * An abort of `signal` ends the loop at once with SB_ERR_CANCELLED / SB_ERR_DEADLINE_EXCEEDED,
 * during a request or a wait alike.
 */
export async function retryUpstream<T>(fn: (signal: AbortSignal) => Promise<T>, o: RetryUpstreamOptions): Promise<T> {
  const { signal, gate } = o;
  const provider = o.provider ?? gate?.provider ?? 'openai';
  const deadline = o.deadline ?? Number.POSITIVE_INFINITY;
  const budget: RetryBudget = {
    attempts: o.attempts ?? DEFAULTS.RETRY_MAX_ATTEMPTS + 1,
    baseDelayMs: o.baseDelayMs ?? DEFAULTS.RETRY_BASE_DELAY_MS,
    maxDelayMs: o.maxDelayMs ?? DEFAULTS.RETRY_MAX_DELAY_MS,
    ...(o.rateLimitRetries !== undefined ? { rateLimitRetries: o.rateLimitRetries } : {}),
    ...(o.rateLimitFloorMs !== undefined ? { rateLimitFloorMs: o.rateLimitFloorMs } : {}),
    ...(o.random ? { random: o.random } : {}),
  };
  const giveUp = o.giveUp ?? defaultGiveUp(o, provider, gate);
  const waitSignal = o.sleepIgnoresSignal ? undefined : signal;
  const tries = { failures: 0, throttles: 0 };
  for (;;) {
    if (signal.aborted) throw abortReasonToError(signal.reason);
    // A known throttle window (ours, another caller's, another process's) is waited out before sending anything.
    if (gate && !o.ignoreRetryAfter) await waitForGate(gate, o, provider, deadline);
    let err: unknown;
    // Each try gets its own signal, released as soon as the try ends (runtime/deadline.ts).
    const request = o.signalPerTry === false ? { signal, release: () => {} } : requestSignal(signal);
    try {
      return await (o.around ? o.around(() => fn(request.signal)) : fn(request.signal));
    } catch (e) {
      err = e;
    } finally {
      request.release();
    }
    if (signal.aborted) throw abortReasonToError(signal.reason);
    if (err instanceof GateClosed) continue;
    const hold = o.intercept?.(err, tries.failures);
    if (hold instanceof Error) throw hold;
    if (hold) {
      await withSpan(hold.span, { attributes: { [ATTR_SB_RETRY_DELAY_MS]: hold.waitMs } }, () =>
        sleepWithProgress(hold.waitMs, signal, o.progress, hold.describe, PROGRESS_INTERVAL_MS, o.keepAlive));
      tries.failures++;
      continue;
    }
    const f = classifyFailure(err);
    if (f.aborted) throw abortReasonToError(err);
    const d = decideRetry(f, { ...tries, now: Date.now(), deadline, ignoreRetryAfter: o.ignoreRetryAfter, noConnectionRetry: o.noConnectionRetry }, budget);
    // Everyone waits behind the gate, not just this caller: no retry storm (KI-17).
    if (d.throttleMs !== undefined) gate?.throttle(d.throttleMs);
    o.onFailure?.(f, d);
    if (!d.retry) throw giveUp(err, f, d, tries);
    if (f.rateLimited && budget.rateLimitRetries !== undefined) tries.throttles++;
    else tries.failures++;
    const reason = f.status ? `HTTP ${f.status}` : 'connection error';
    o.onRetry?.({ attempt: tries.failures + tries.throttles, delayMs: d.delayMs, retryAfterMs: d.retryAfterMs, status: f.status, reason });
    const describe = f.rateLimited
      ? (r: number) => `${o.throttleLabel ?? 'throttled'}, retrying in ${Math.ceil(r / 1000)} s`
      : (r: number) => o.retryMessage?.(f, r) ?? `${provider} ${f.status ? `answered ${f.status}` : 'connection failed'}, retrying in ${Math.ceil(r / 1000)} s`;
    await withSpan('retry.wait', { attributes: {
      [ATTR_SB_RETRY_ATTEMPT]: tries.failures + tries.throttles, [ATTR_SB_RETRY_DELAY_MS]: d.delayMs,
      ...(d.retryAfterMs !== undefined ? { [ATTR_SB_RETRY_AFTER_MS]: d.retryAfterMs } : {}),
      ...(f.status ? { [ATTR_HTTP_RESPONSE_STATUS_CODE]: f.status } : {}),
    } }, () => sleepWithProgress(d.delayMs, waitSignal, o.progress, describe, PROGRESS_INTERVAL_MS, o.keepAlive));
  }
}
