/**
 * One retry owner per provider (KI-17, KI-18, KI-22). SDK clients are created with
 * maxRetries: 0; this policy decides every retry.
 *
 * Library choice: cockatiel supplies the circuit breaker (consecutive-failure breaker with
 * a half-open probe). Its RetryPolicy is not used: its delay between attempts does not
 * take the AbortSignal (checked in cockatiel 4.0 RetryPolicy.execute) and it has no way to
 * take a per-error delay from `retry-after`. p-retry also has no retry-after hook. So the
 * retry loop is written here: full-jitter exponential backoff, `retry-after-ms` /
 * `retry-after` honoured with no cap, bounded by the call's deadline, every wait abortable.
 */
import { requestSignal } from '../runtime/deadline.ts';
import {
  BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen,
  IsolatedCircuitError, type CircuitBreakerPolicy,
} from 'cockatiel';
import { APIConnectionError, APIError } from 'openai';
import { classifyFailure } from './classify.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError, abortReasonToError, isAbortError, isSbError, localFailure } from '../errors.ts';
import { fullJitter, sleepWithProgress } from './sleep.ts';
import { parseRemainingRequests, parseRetryAfterMs, parseRetryInfoMs } from './retry-after.ts';
import type { SharedRateLimits } from '../state/rate-limits.ts';
import { activeSpan, withSpan } from '../telemetry/spans.ts';
import {
  ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SB_CIRCUIT_STATE, ATTR_SB_RETRY_AFTER_MS, ATTR_SB_RETRY_ATTEMPT, ATTR_SB_RETRY_DELAY_MS, EVENT_SB_CIRCUIT,
} from '../telemetry/semconv.ts';
import { count429, countCircuitOpen, countRetry, setRateLimitHeadroom } from '../telemetry/metrics.ts';

export interface AttemptInfo { attempt: number; delayMs: number; retryAfterMs?: number; status?: number; reason: string }

export interface RunOptions {
  signal: AbortSignal;
  /** Absolute deadline (epoch ms) of the whole call. */
  deadline: number;
  /** Progress messages ("throttled by openai, retrying in 12 s"). */
  progress?: (message: string) => void;
  /** Called before each retry wait (tracing and metrics hook). */
  onRetry?: (info: AttemptInfo) => void;
  /** What the call is doing, for messages ("create response"). */
  what?: string;
}

export interface ResilienceOptions {
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  consecutiveFailures?: number;
  halfOpenAfterMs?: number;
  random?: () => number;
  shared?: SharedRateLimits;
  onCircuitChange?: (state: 'open' | 'half_open' | 'closed') => void;
  /** Test-only defect: ignore retry-after and retry immediately (proves KI-17 scenarios bite). */
  ignoreRetryAfter?: boolean;
  /** Test-only defect: the backoff sleep between retries ignores the call signal (proves KI-03 scenarios bite). */
  retrySleepIgnoresSignal?: boolean;
  /** Test-only defect: connection failures (a pooled socket closed by the far side) are final (proves KI-16 scenarios bite). */
  noConnectionRetry?: boolean;
}

export interface ResilienceState {
  circuit: 'closed' | 'open' | 'half_open' | 'isolated';
  opened_at?: string;
  throttled_until?: string;
  last_retry_after_ms?: number;
  remaining_requests?: number;
  retries: number;
  rate_limited: number;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

export class ProviderResilience {
  readonly provider: string;
  readonly #opts: Required<Omit<ResilienceOptions, 'shared' | 'onCircuitChange' | 'random' | 'ignoreRetryAfter' | 'retrySleepIgnoresSignal' | 'noConnectionRetry'>> & ResilienceOptions;
  readonly #breaker: CircuitBreakerPolicy;
  #openedAt?: number;
  #localThrottleUntil = 0;
  #lastRetryAfterMs?: number;
  #remaining?: number;
  #retries = 0;
  #rateLimited = 0;

  constructor(provider: string, options: ResilienceOptions = {}) {
    this.provider = provider;
    this.#opts = {
      maxAttempts: options.maxAttempts ?? DEFAULTS.RETRY_MAX_ATTEMPTS,
      baseDelayMs: options.baseDelayMs ?? DEFAULTS.RETRY_BASE_DELAY_MS,
      maxDelayMs: options.maxDelayMs ?? DEFAULTS.RETRY_MAX_DELAY_MS,
      consecutiveFailures: options.consecutiveFailures ?? DEFAULTS.CIRCUIT_CONSECUTIVE_FAILURES,
      halfOpenAfterMs: options.halfOpenAfterMs ?? DEFAULTS.CIRCUIT_HALF_OPEN_AFTER_MS,
      ...options,
    };
    this.#breaker = circuitBreaker(handleWhen((e) => classifyFailure(e).retryable), {
      halfOpenAfter: this.#opts.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.#opts.consecutiveFailures),
    });
    const circuitEvent = (state: string) => activeSpan().addEvent(EVENT_SB_CIRCUIT, { [ATTR_SB_CIRCUIT_STATE]: state, provider });
    this.#breaker.onBreak(() => { this.#openedAt = Date.now(); countCircuitOpen(provider); circuitEvent('open'); this.#opts.onCircuitChange?.('open'); });
    this.#breaker.onHalfOpen(() => { circuitEvent('half_open'); this.#opts.onCircuitChange?.('half_open'); });
    this.#breaker.onReset(() => { this.#openedAt = undefined; circuitEvent('closed'); this.#opts.onCircuitChange?.('closed'); });
  }

  /** Records the headroom seen on a successful response (KI-22). */
  observeHeaders(headers: Headers | undefined | null): void {
    const remaining = parseRemainingRequests(headers);
    if (remaining !== undefined) {
      this.#remaining = remaining;
      setRateLimitHeadroom(this.provider, remaining);
      this.#opts.shared?.headroom(this.provider, remaining);
    }
  }

  state(): ResilienceState {
    const map: Record<number, ResilienceState['circuit']> = {
      [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half_open', [CircuitState.Isolated]: 'isolated',
    };
    const until = this.#throttledUntil();
    const shared = this.#opts.shared?.get(this.provider);
    return {
      circuit: map[this.#breaker.state] ?? 'closed',
      ...(this.#openedAt ? { opened_at: new Date(this.#openedAt).toISOString() } : {}),
      ...(until > Date.now() ? { throttled_until: new Date(until).toISOString() } : {}),
      ...(this.#lastRetryAfterMs !== undefined ? { last_retry_after_ms: this.#lastRetryAfterMs } : {}),
      ...((this.#remaining ?? shared?.remainingRequests) !== undefined ? { remaining_requests: this.#remaining ?? shared?.remainingRequests } : {}),
      retries: this.#retries,
      rate_limited: this.#rateLimited,
    };
  }

  #throttledUntil(): number {
    const shared = this.#opts.shared?.get(this.provider)?.throttledUntilMs ?? 0;
    return Math.max(this.#localThrottleUntil, shared);
  }

  /**
   * Runs `fn` with retries, the circuit breaker and the shared throttle. `fn` receives the
   * signal to pass to its request. Throws SbError with a code on final failure.
   */
  async run<T>(fn: (signal: AbortSignal) => Promise<T>, opts: RunOptions): Promise<T> {
    const what = opts.what ?? 'request';
    for (let attempt = 0; ; attempt++) {
      if (opts.signal.aborted) throw abortReasonToError(opts.signal.reason);
      // A known throttle window (ours or another instance's) is waited out before sending anything.
      const until = this.#opts.ignoreRetryAfter ? 0 : this.#throttledUntil();
      if (until > Date.now()) {
        if (until > opts.deadline) throw this.#throttleError(until, until - Date.now());
        // KI-20: a wait for a throttle window shows in the trace, like a retry wait.
        await withSpan('throttle.wait', { attributes: { [ATTR_SB_RETRY_DELAY_MS]: until - Date.now() } }, () => sleepWithProgress(until - Date.now(), opts.signal, opts.progress,
          (r) => `throttled by ${this.provider}, retrying in ${Math.ceil(r / 1000)} s`));
      }
      try {
        // Each attempt gets its own signal, released when the attempt ends (runtime/deadline.ts).
        const request = requestSignal(opts.signal);
        try {
          return await this.#breaker.execute(() => fn(request.signal));
        } finally {
          request.release();
        }
      } catch (err) {
        if (opts.signal.aborted || isAbortError(err)) throw abortReasonToError(opts.signal.reason ?? err);
        if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) {
          const waitMs = Math.max(50, (this.#openedAt ?? Date.now()) + this.#opts.halfOpenAfterMs - Date.now());
          if (Date.now() + waitMs > opts.deadline || attempt >= this.#opts.maxAttempts + this.#opts.consecutiveFailures) {
            throw new SbError(ErrorCode.CIRCUIT_OPEN,
              `Failed to ${what} with ${this.provider}: too many consecutive upstream failures, calls are paused until about ${clock(Date.now() + waitMs)}. Try again later or use start_job.`,
              { provider: this.provider, cause: err, retryAfterMs: waitMs });
          }
          await withSpan('circuit.wait', { attributes: { [ATTR_SB_RETRY_DELAY_MS]: waitMs } }, () =>
            sleepWithProgress(waitMs, opts.signal, opts.progress, (r) => `${this.provider} is failing, probing again in ${Math.ceil(r / 1000)} s`));
          continue;
        }
        const c = classifyFailure(err);
        if (this.#opts.noConnectionRetry && c.retryable && c.status === undefined) throw toUpstreamError(this.provider, what, err);
        if (c.quota) {
          throw new SbError(ErrorCode.QUOTA_EXCEEDED, `Failed to ${what} with ${this.provider}: the account has no quota left (insufficient_quota). Check the plan and billing of the key.`, { provider: this.provider, status: 429, cause: err });
        }
        if (!c.retryable) throw toUpstreamError(this.provider, what, err);
        // The header, or the delay stated in the body (Gemini's RetryInfo).
        const retryAfterMs = this.#opts.ignoreRetryAfter ? undefined : parseRetryAfterMs(c.headers) ?? (err instanceof APIError ? parseRetryInfoMs(err.error) : undefined);
        if (c.rateLimited) {
          this.#rateLimited++;
          count429(this.provider);
          if (retryAfterMs !== undefined) {
            this.#lastRetryAfterMs = retryAfterMs;
            this.#localThrottleUntil = Math.max(this.#localThrottleUntil, Date.now() + retryAfterMs);
            this.#opts.shared?.throttle(this.provider, retryAfterMs);
          }
        }
        const delayMs = this.#opts.ignoreRetryAfter ? 0 : (retryAfterMs ?? fullJitter(attempt, this.#opts.baseDelayMs, this.#opts.maxDelayMs, this.#opts.random));
        if (attempt >= this.#opts.maxAttempts) {
          if (c.rateLimited) throw this.#throttleError(Date.now() + delayMs, retryAfterMs, err, true);
          throw toUpstreamError(this.provider, what, err, `gave up after ${attempt + 1} attempts`);
        }
        if (Date.now() + delayMs > opts.deadline) {
          if (c.rateLimited) throw this.#throttleError(Date.now() + delayMs, retryAfterMs, err);
          throw toUpstreamError(this.provider, what, err, 'the next retry would end after the call deadline');
        }
        this.#retries++;
        countRetry(this.provider);
        opts.onRetry?.({ attempt: attempt + 1, delayMs, retryAfterMs, status: c.status, reason: c.status ? `HTTP ${c.status}` : 'connection error' });
        await withSpan('retry.wait', { attributes: {
          [ATTR_SB_RETRY_ATTEMPT]: attempt + 1, [ATTR_SB_RETRY_DELAY_MS]: delayMs,
          ...(retryAfterMs !== undefined ? { [ATTR_SB_RETRY_AFTER_MS]: retryAfterMs } : {}),
          ...(c.status ? { [ATTR_HTTP_RESPONSE_STATUS_CODE]: c.status } : {}),
        } }, () => sleepWithProgress(delayMs, this.#opts.retrySleepIgnoresSignal ? undefined : opts.signal, opts.progress, (r) =>
          c.rateLimited ? `throttled by ${this.provider}, retrying in ${Math.ceil(r / 1000)} s` : `${this.provider} ${c.status ? `answered ${c.status}` : 'connection failed'}, retrying in ${Math.ceil(r / 1000)} s`));
      }
    }
  }

  #throttleError(untilMs: number, retryAfterMs: number | undefined, cause?: unknown, exhausted = false): SbError {
    const ra = retryAfterMs !== undefined ? ` (retry-after ${Math.ceil(retryAfterMs / 1000)} s)` : '';
    const waitS = Math.max(1, Math.ceil((untilMs - Date.now()) / 1000));
    // KI-17: says what failed, until when, and what to do — the same wording as the vector-store path.
    return new SbError(ErrorCode.RATE_LIMITED,
      `Failed: ${this.provider} is throttling this account (rate limited) until about ${clock(untilMs)} UTC${ra}${exhausted ? ', retries exhausted' : ''}. Try again in ${waitS} s, or use start_job.`,
      { provider: this.provider, status: 429, retryAfterMs: Math.max(0, untilMs - Date.now()), cause });
  }
}

/** Converts a final upstream error into an SbError with an actionable message. */
export function toUpstreamError(provider: string, what: string, err: unknown, extra?: string): SbError {
  if (isSbError(err)) return err;
  // A stack overflow or SQLite error is ours, not the provider's (never "bad response").
  const local = localFailure(err, what);
  if (local) return local;
  const c = classifyFailure(err);
  const suffix = extra ? ` (${extra})` : '';
  if (err instanceof APIError && err.status !== undefined) {
    const msg = (err as { error?: { message?: string } }).error?.message ?? err.message;
    const hint = err.status === 401 || err.status === 403 ? 'Check the API key.' : err.status >= 500 ? 'The provider is failing; try again later.' : 'Check the request parameters.';
    return new SbError(ErrorCode.UPSTREAM_ERROR, `Failed to ${what} with ${provider}: HTTP ${err.status}: ${msg}${suffix}. ${hint}`, { provider, status: err.status, cause: err });
  }
  if (err instanceof APIConnectionError || c.retryable) {
    return new SbError(ErrorCode.UPSTREAM_ERROR, `Failed to ${what} with ${provider}: connection failed (${(err as Error).message})${suffix}. Check ${provider.toUpperCase()}_BASE_URL and the network, then try again.`, { provider, cause: err });
  }
  return new SbError(ErrorCode.UPSTREAM_BAD_RESPONSE, `Failed to ${what} with ${provider}: ${(err as Error)?.message ?? String(err)}${suffix}.`, { provider, cause: err });
}
