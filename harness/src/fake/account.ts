import type { FakeClock } from './clock.ts';

/**
 * The account model (KI-17, KI-18, KI-22): one token bucket per API key, shared by every
 * request carrying that key, plus throttle windows during which the account rejects
 * everything (`reject`) or slows uploads (`degrade`). Pure arithmetic over the
 * injected clock; nothing here schedules timers.
 */

export interface AccountLimits {
  /** Bucket refill rate, requests per second. */
  requestsPerSecond: number;
  /** Bucket capacity, requests. */
  burst: number;
  /** Token bucket refill, tokens per minute. */
  tokensPerMinute: number;
  /** Token bucket capacity; defaults to `tokensPerMinute`. */
  tokenBurst: number;
}

export const DEFAULT_ACCOUNT_LIMITS: Readonly<AccountLimits> = {
  requestsPerSecond: 1_000,
  burst: 10_000,
  tokensPerMinute: 10_000_000,
  tokenBurst: 10_000_000,
};

/** KI-17: uploads took 6–7× longer while the account was throttled. */
export const DEFAULT_DEGRADED_MULTIPLIER = 6.5;

export type ThrottleMode = 'reject' | 'degrade';

export interface ThrottleWindow {
  /** Monotonic ms (the fake's clock) at which the window opens. */
  startMs: number;
  /** Monotonic ms at which it ends; recovery is immediate at that instant. */
  endMs: number;
  mode: ThrottleMode;
  /** Latency multiplier for upload routes while a `degrade` window is open. */
  multiplier: number;
}

export interface ThrottleRequest {
  durationMs: number;
  /** Default `reject`. */
  mode?: ThrottleMode;
  /** Default 6.5 (`degrade` only). */
  multiplier?: number;
  /** Delay from now before the window opens. Default 0. */
  startInMs?: number;
}

export interface AccountOptions {
  limits?: Partial<AccountLimits>;
  /** Windows relative to the fake's creation time. */
  throttle?: Array<{ startMs: number; durationMs: number; mode?: ThrottleMode; multiplier?: number }>;
  /** Baseline latency of upload routes; a degrade window multiplies it. Default 0 ms. */
  uploadLatencyMs?: number;
}

export interface RateLimitState {
  limitRequests: number;
  remainingRequests: number;
  resetRequestsMs: number;
  limitTokens: number;
  remainingTokens: number;
  resetTokensMs: number;
}

export type AdmitResult =
  | { ok: true; state: RateLimitState; degradeMultiplier: number }
  | { ok: false; state: RateLimitState; retryAfterMs: number; reason: 'requests' | 'tokens' | 'throttle-window' };

interface Bucket {
  requests: number;
  tokens: number;
  lastMs: number;
}

/** Control surface of the account on a fake instance. */
export interface AccountControl {
  /** Changes limits from now on; existing buckets keep their fill, clamped to the new capacity. */
  setLimits(limits: Partial<AccountLimits>): AccountLimits;
  /** Opens a throttle window (starting now unless `startInMs`); returns it. */
  throttle(request: ThrottleRequest): ThrottleWindow;
  /** Ends every throttle window now. */
  clearThrottle(): void;
  limits(): AccountLimits;
  windows(): ThrottleWindow[];
  /** Current bucket state for a key (full when the key was never seen). */
  peek(key: string): RateLimitState;
  /** Refills every bucket to capacity. */
  reset(): void;
  /** Empties every bucket seen so far (requests and tokens) now; they refill at the configured rates from here. */
  drain(): void;
}

/** A change to the account, as the control API and the scenario steps give it. */
export interface AccountChange {
  limits?: Partial<AccountLimits>;
  throttle?: ThrottleRequest;
  clearThrottle?: boolean;
  reset?: boolean;
  drain?: boolean;
}

/** Applies a change in a fixed order: reset, clear the throttle, limits, drain, then a new throttle window. */
export function applyAccountChange(account: AccountControl, change: AccountChange): void {
  if (change.reset === true) account.reset();
  if (change.clearThrottle === true) account.clearThrottle();
  if (change.limits) account.setLimits(change.limits);
  if (change.drain === true) account.drain();
  if (change.throttle) account.throttle(change.throttle);
}

export class AccountModel implements AccountControl {
  readonly #clock: FakeClock;
  #limits: AccountLimits;
  #windows: ThrottleWindow[] = [];
  readonly #buckets = new Map<string, Bucket>();
  readonly uploadLatencyMs: number;

  constructor(clock: FakeClock, options: AccountOptions = {}) {
    this.#clock = clock;
    this.#limits = normaliseLimits({ ...DEFAULT_ACCOUNT_LIMITS, ...options.limits, tokenBurst: options.limits?.tokenBurst ?? options.limits?.tokensPerMinute ?? DEFAULT_ACCOUNT_LIMITS.tokenBurst });
    this.uploadLatencyMs = options.uploadLatencyMs ?? 0;
    const origin = clock.nowMs();
    for (const w of options.throttle ?? []) {
      this.#windows.push(makeWindow(origin + w.startMs, w.durationMs, w.mode, w.multiplier));
    }
  }

  limits(): AccountLimits {
    return { ...this.#limits };
  }

  windows(): ThrottleWindow[] {
    return this.#windows.map((w) => ({ ...w }));
  }

  setLimits(limits: Partial<AccountLimits>): AccountLimits {
    const now = this.#clock.nowMs();
    // Settle every bucket at the old rate before the new one applies.
    for (const bucket of this.#buckets.values()) this.#refill(bucket, now);
    const next = { ...this.#limits, ...limits };
    if (limits.tokensPerMinute !== undefined && limits.tokenBurst === undefined) next.tokenBurst = limits.tokensPerMinute;
    this.#limits = normaliseLimits(next);
    for (const bucket of this.#buckets.values()) {
      bucket.requests = Math.min(bucket.requests, this.#limits.burst);
      bucket.tokens = Math.min(bucket.tokens, this.#limits.tokenBurst);
    }
    return this.limits();
  }

  throttle(request: ThrottleRequest): ThrottleWindow {
    const window = makeWindow(this.#clock.nowMs() + (request.startInMs ?? 0), request.durationMs, request.mode, request.multiplier);
    this.#windows.push(window);
    return { ...window };
  }

  clearThrottle(): void {
    this.#windows = [];
  }

  reset(): void {
    this.#buckets.clear();
  }

  drain(): void {
    const now = this.#clock.nowMs();
    for (const bucket of this.#buckets.values()) {
      bucket.requests = 0;
      bucket.tokens = 0;
      bucket.lastMs = now;
    }
  }

  peek(key: string): RateLimitState {
    const now = this.#clock.nowMs();
    const bucket = this.#bucket(key, now);
    this.#refill(bucket, now);
    return this.#state(bucket, this.#activeWindow(now), now);
  }

  /**
   * Admits or rejects one request costing one request and `tokens` tokens. A rejected
   * request consumes nothing, as on the real API.
   */
  admit(key: string, tokens: number, isUpload: boolean): AdmitResult {
    const now = this.#clock.nowMs();
    const bucket = this.#bucket(key, now);
    this.#refill(bucket, now);
    const window = this.#activeWindow(now);
    if (window?.mode === 'reject') {
      return { ok: false, state: this.#state(bucket, window, now), retryAfterMs: window.endMs - now, reason: 'throttle-window' };
    }
    const { requestsPerSecond, tokensPerMinute } = this.#limits;
    if (bucket.requests < 1) {
      const retryAfterMs = Math.ceil(((1 - bucket.requests) / requestsPerSecond) * 1000);
      return { ok: false, state: this.#state(bucket, window, now), retryAfterMs, reason: 'requests' };
    }
    const cost = Math.min(tokens, this.#limits.tokenBurst);
    if (bucket.tokens < cost) {
      const retryAfterMs = Math.ceil(((cost - bucket.tokens) / tokensPerMinute) * 60_000);
      return { ok: false, state: this.#state(bucket, window, now), retryAfterMs, reason: 'tokens' };
    }
    bucket.requests -= 1;
    bucket.tokens -= cost;
    const degradeMultiplier = window?.mode === 'degrade' && isUpload ? window.multiplier : 1;
    return { ok: true, state: this.#state(bucket, window, now), degradeMultiplier };
  }

  #bucket(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { requests: this.#limits.burst, tokens: this.#limits.tokenBurst, lastMs: now };
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  #refill(bucket: Bucket, now: number): void {
    const elapsed = Math.max(0, now - bucket.lastMs);
    bucket.requests = Math.min(this.#limits.burst, bucket.requests + (elapsed * this.#limits.requestsPerSecond) / 1000);
    bucket.tokens = Math.min(this.#limits.tokenBurst, bucket.tokens + (elapsed * this.#limits.tokensPerMinute) / 60_000);
    bucket.lastMs = now;
  }

  #activeWindow(now: number): ThrottleWindow | undefined {
    // A reject window wins over a degrade window when both are open.
    const open = this.#windows.filter((w) => now >= w.startMs && now < w.endMs);
    return open.find((w) => w.mode === 'reject') ?? open[0];
  }

  #state(bucket: Bucket, window: ThrottleWindow | undefined, now: number): RateLimitState {
    const { burst, requestsPerSecond, tokenBurst, tokensPerMinute } = this.#limits;
    const rejecting = window?.mode === 'reject';
    return {
      limitRequests: burst,
      remainingRequests: rejecting ? 0 : Math.floor(bucket.requests),
      resetRequestsMs: rejecting ? window.endMs - now : Math.ceil(((burst - bucket.requests) / requestsPerSecond) * 1000),
      limitTokens: tokenBurst,
      remainingTokens: rejecting ? 0 : Math.floor(bucket.tokens),
      resetTokensMs: rejecting ? window.endMs - now : Math.ceil(((tokenBurst - bucket.tokens) / tokensPerMinute) * 60_000),
    };
  }
}

function makeWindow(startMs: number, durationMs: number, mode: ThrottleMode = 'reject', multiplier = DEFAULT_DEGRADED_MULTIPLIER): ThrottleWindow {
  if (!(durationMs >= 0)) throw new RangeError(`throttle.durationMs must be >= 0, got ${durationMs}`);
  if (mode !== 'reject' && mode !== 'degrade') throw new RangeError(`throttle.mode must be 'reject' or 'degrade', got ${String(mode)}`);
  return { startMs, endMs: startMs + durationMs, mode, multiplier };
}

function normaliseLimits(limits: AccountLimits): AccountLimits {
  for (const name of ['requestsPerSecond', 'burst', 'tokensPerMinute', 'tokenBurst'] as const) {
    if (!(limits[name] > 0) || !Number.isFinite(limits[name])) {
      throw new RangeError(`account.limits.${name} must be a positive finite number, got ${limits[name]}`);
    }
  }
  return limits;
}

/** Formats a duration the way OpenAI's `x-ratelimit-reset-*` headers do: `20ms`, `1.5s`, `6m0s`. */
export function formatResetDuration(ms: number): string {
  const clamped = Math.max(0, Math.ceil(ms));
  if (clamped < 1000) return `${clamped}ms`;
  const totalSeconds = clamped / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = Math.round((totalSeconds % 60) * 1000) / 1000;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** The `x-ratelimit-*` headers for a bucket state. */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': String(state.limitRequests),
    'x-ratelimit-remaining-requests': String(state.remainingRequests),
    'x-ratelimit-reset-requests': formatResetDuration(state.resetRequestsMs),
    'x-ratelimit-limit-tokens': String(state.limitTokens),
    'x-ratelimit-remaining-tokens': String(state.remainingTokens),
    'x-ratelimit-reset-tokens': formatResetDuration(state.resetTokensMs),
  };
}

/** `retry-after` (whole seconds, rounded up) and `retry-after-ms`. */
export function retryAfterHeaders(retryAfterMs: number): Record<string, string> {
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  // The spec's TooManyRequests: `Retry-After` is an integer number of seconds, at least 1.
  return { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))), 'retry-after-ms': String(ms) };
}
