/**
 * Rate-limit knowledge shared by every server process that uses the same state dir
 * (KI-18): when one instance is told "retry after 120 s", the others hold back too
 * instead of each discovering the throttle with their own requests.
 */
import { registerSchema, type Db } from './db.ts';
import { DEFAULTS } from '../config/defaults.ts';

registerSchema('rate_limits', `
CREATE TABLE IF NOT EXISTS rate_limits (
  provider TEXT PRIMARY KEY,
  throttled_until_ms INTEGER NOT NULL DEFAULT 0,
  retry_after_ms INTEGER,
  remaining_requests INTEGER,
  updated_ms INTEGER NOT NULL
);`);

export interface RateLimitState {
  throttledUntilMs: number;
  retryAfterMs?: number;
  remainingRequests?: number;
  updatedMs: number;
}

const WRITE_RETRIES = DEFAULTS.RATE_BOARD_WRITE_RETRIES;
const WRITE_RETRY_MS = DEFAULTS.RATE_BOARD_WRITE_RETRY_MS;

/**
 * Best-effort by design: a locked or failing database never fails a call. Reads fall
 * back to "nothing known"; a throttle write that meets a lock held by another process is
 * retried a few times off the call path, so the others still learn of the window.
 */
export class SharedRateLimits {
  readonly #db: Db;
  /** Reads or writes that failed (diagnostics). */
  failures = 0;
  constructor(db: Db) { this.#db = db; }

  get(provider: string): RateLimitState | undefined {
    try {
      return this.#get(provider);
    } catch {
      this.failures++;
      return undefined;
    }
  }

  #get(provider: string): RateLimitState | undefined {
    const row = this.#db.prepare('SELECT throttled_until_ms, retry_after_ms, remaining_requests, updated_ms FROM rate_limits WHERE provider = ?').get(provider) as
      | { throttled_until_ms: number; retry_after_ms: number | null; remaining_requests: number | null; updated_ms: number } | undefined;
    if (!row) return undefined;
    return {
      throttledUntilMs: row.throttled_until_ms,
      retryAfterMs: row.retry_after_ms ?? undefined,
      remainingRequests: row.remaining_requests ?? undefined,
      updatedMs: row.updated_ms,
    };
  }

  /** Records a throttle: the provider said to wait `retryAfterMs` from now. Keeps the later of two deadlines. */
  throttle(provider: string, retryAfterMs: number, now = Date.now()): void {
    const until = now + retryAfterMs;
    const attempt = (left: number) => {
      try {
        this.#throttle(provider, until, retryAfterMs, Date.now());
      } catch {
        this.failures++;
        if (left > 0) setTimeout(() => attempt(left - 1), WRITE_RETRY_MS).unref();
      }
    };
    attempt(WRITE_RETRIES);
  }

  #throttle(provider: string, until: number, retryAfterMs: number, now: number): void {
    this.#db.prepare(`INSERT INTO rate_limits (provider, throttled_until_ms, retry_after_ms, updated_ms) VALUES (?, ?, ?, ?)
      ON CONFLICT(provider) DO UPDATE SET throttled_until_ms = MAX(throttled_until_ms, excluded.throttled_until_ms),
        retry_after_ms = excluded.retry_after_ms, updated_ms = excluded.updated_ms`).run(provider, until, retryAfterMs, now);
  }

  /** Records the latest headroom the provider reported. */
  headroom(provider: string, remainingRequests: number, now = Date.now()): void {
    try {
      this.#headroom(provider, remainingRequests, now);
    } catch {
      this.failures++;
    }
  }

  #headroom(provider: string, remainingRequests: number, now: number): void {
    this.#db.prepare(`INSERT INTO rate_limits (provider, remaining_requests, updated_ms) VALUES (?, ?, ?)
      ON CONFLICT(provider) DO UPDATE SET remaining_requests = excluded.remaining_requests, updated_ms = excluded.updated_ms`).run(provider, remainingRequests, now);
  }
}
