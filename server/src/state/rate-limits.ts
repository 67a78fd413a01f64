/**
 * Rate-limit knowledge shared by every server process that uses the same state dir
 * (KI-18): when one instance is told "retry after 120 s", the others hold back too
 * instead of each discovering the throttle with their own requests.
 */
import { registerSchema, type Db } from './db.ts';

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

export class SharedRateLimits {
  readonly #db: Db;
  constructor(db: Db) { this.#db = db; }

  get(provider: string): RateLimitState | undefined {
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
    this.#db.prepare(`INSERT INTO rate_limits (provider, throttled_until_ms, retry_after_ms, updated_ms) VALUES (?, ?, ?, ?)
      ON CONFLICT(provider) DO UPDATE SET throttled_until_ms = MAX(throttled_until_ms, excluded.throttled_until_ms),
        retry_after_ms = excluded.retry_after_ms, updated_ms = excluded.updated_ms`).run(provider, now + retryAfterMs, retryAfterMs, now);
  }

  /** Records the latest headroom the provider reported. */
  headroom(provider: string, remainingRequests: number, now = Date.now()): void {
    this.#db.prepare(`INSERT INTO rate_limits (provider, remaining_requests, updated_ms) VALUES (?, ?, ?)
      ON CONFLICT(provider) DO UPDATE SET remaining_requests = excluded.remaining_requests, updated_ms = excluded.updated_ms`).run(provider, remainingRequests, now);
  }
}
