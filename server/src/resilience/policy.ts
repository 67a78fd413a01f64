/**
 * One retry owner per provider (KI-17, KI-18, KI-22). SDK clients are created with
 * maxRetries: 0; every retry is decided by the one engine (retry.ts), which the
 * vector-store requests use too, behind the same throttle gate of the provider account.
 *
 * Library choice: cockatiel supplies the circuit breaker (consecutive-failure breaker with
 * a half-open probe), wrapped around each try. Its RetryPolicy is not used (retry.ts says why).
 */
import {
  BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen,
  IsolatedCircuitError, type CircuitBreakerPolicy,
} from 'cockatiel';
import { classifyFailure } from './classify.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { parseRemainingRequests } from './retry-after.ts';
import { retryUpstream, type AttemptInfo } from './retry.ts';
import { ThrottleGate, type RateLimitBoard } from './throttle-gate.ts';
import { circuitOpenError } from './upstream-errors.ts';
import { activeSpan } from '../telemetry/spans.ts';
import { ATTR_SB_CIRCUIT_STATE, EVENT_SB_CIRCUIT } from '../telemetry/semconv.ts';
import { count429, countCircuitOpen, countRetry } from '../telemetry/metrics.ts';

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
  /** The provider account's throttle gate, shared with its vector-store work (app.ts). */
  gate?: ThrottleGate;
  /** Without a gate: the board shared through the state dir (KI-18) for a gate of its own. */
  shared?: RateLimitBoard;
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

export class ProviderResilience {
  readonly provider: string;
  readonly #opts: Required<Omit<ResilienceOptions, 'gate' | 'shared' | 'onCircuitChange' | 'random' | 'ignoreRetryAfter' | 'retrySleepIgnoresSignal' | 'noConnectionRetry'>> & ResilienceOptions;
  readonly #breaker: CircuitBreakerPolicy;
  readonly #gate: ThrottleGate;
  #openedAt?: number;
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
    this.#gate = options.gate ?? new ThrottleGate(options.shared, provider);
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
      this.#gate.noteHeadroom(remaining);
    }
  }

  state(): ResilienceState {
    const map: Record<number, ResilienceState['circuit']> = {
      [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half_open', [CircuitState.Isolated]: 'isolated',
    };
    const until = this.#gate.until;
    const remaining = this.#remaining ?? this.#gate.sharedRemaining;
    return {
      circuit: map[this.#breaker.state] ?? 'closed',
      ...(this.#openedAt ? { opened_at: new Date(this.#openedAt).toISOString() } : {}),
      ...(until > Date.now() ? { throttled_until: new Date(until).toISOString() } : {}),
      ...(this.#lastRetryAfterMs !== undefined ? { last_retry_after_ms: this.#lastRetryAfterMs } : {}),
      ...(remaining !== undefined ? { remaining_requests: remaining } : {}),
      retries: this.#retries,
      rate_limited: this.#rateLimited,
    };
  }

  /**
   * Runs `fn` with retries, the circuit breaker and the shared throttle. `fn` receives the
   * signal to pass to its request. Throws SbError with a code on final failure.
   */
  async run<T>(fn: (signal: AbortSignal) => Promise<T>, opts: RunOptions): Promise<T> {
    const what = opts.what ?? 'request';
    const o = this.#opts;
    return retryUpstream(fn, {
      signal: opts.signal, deadline: opts.deadline, gate: this.#gate, provider: this.provider, what, forCall: true,
      progress: opts.progress, throttleLabel: `throttled by ${this.provider}`,
      attempts: o.maxAttempts + 1, baseDelayMs: o.baseDelayMs, maxDelayMs: o.maxDelayMs, ...(o.random ? { random: o.random } : {}),
      ignoreRetryAfter: o.ignoreRetryAfter, noConnectionRetry: o.noConnectionRetry, sleepIgnoresSignal: o.retrySleepIgnoresSignal,
      around: (attempt) => this.#breaker.execute(attempt),
      intercept: (err, failures) => {
        if (!(err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError)) return undefined;
        const waitMs = Math.max(50, (this.#openedAt ?? Date.now()) + o.halfOpenAfterMs - Date.now());
        if (Date.now() + waitMs > opts.deadline || failures >= o.maxAttempts + o.consecutiveFailures) return circuitOpenError(this.provider, what, waitMs, err);
        return { waitMs, span: 'circuit.wait', describe: (r) => `${this.provider} is failing, probing again in ${Math.ceil(r / 1000)} s` };
      },
      onFailure: (f, d) => {
        if (!f.rateLimited) return;
        this.#rateLimited++;
        count429(this.provider);
        if (d.retryAfterMs !== undefined) this.#lastRetryAfterMs = d.retryAfterMs;
      },
      onRetry: (info) => {
        this.#retries++;
        countRetry(this.provider);
        opts.onRetry?.(info);
      },
    });
  }
}
