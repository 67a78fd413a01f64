/**
 * The account-wide throttle of one provider (KI-17, KI-18): after a 429 nobody sends
 * until the provider's `retry-after` has passed, whether the request is a chat call or
 * vector-store work, and other processes sharing the state dir hold back too through the
 * board. One instance per provider account (app.ts), shared by every caller of
 * retryUpstream (retry.ts).
 */
import { abortReasonToError, ErrorCode, type SbError } from '../errors.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { setRateLimitHeadroom } from '../telemetry/metrics.ts';
import { throttledError } from './upstream-errors.ts';

/** What a process-shared rate-limit board must offer (state/rate-limits.ts fits; KI-18). */
export interface RateLimitBoard {
  get(provider: string): { throttledUntilMs: number; remainingRequests?: number } | undefined;
  throttle(provider: string, retryAfterMs: number): void;
  headroom(provider: string, remainingRequests: number): void;
}

const BOARD_READ_TTL_MS = DEFAULTS.RATE_BOARD_READ_TTL_MS;
const BOARD_HEADROOM_WRITE_MS = DEFAULTS.RATE_BOARD_HEADROOM_WRITE_MS;

export class ThrottleGate {
  readonly provider: string;
  #until = 0;
  readonly #board?: RateLimitBoard;
  /** The board's throttle deadline and headroom as last read, and when (see BOARD_READ_TTL_MS). */
  #shared: { untilMs: number; remaining?: number; readAt: number } = { untilMs: 0, readAt: Number.NEGATIVE_INFINITY };
  /** The headroom last written to the board, and when (see BOARD_HEADROOM_WRITE_MS). */
  #written = { remaining: Number.POSITIVE_INFINITY, at: Number.NEGATIVE_INFINITY };

  constructor(board?: RateLimitBoard, provider = 'openai') {
    this.#board = board;
    this.provider = provider;
  }

  #readBoard(): void {
    const now = performance.now();
    // Every upload asks; a SQLite read per ask is event-loop time for no news (KI-01).
    if (!this.#board || now - this.#shared.readAt < BOARD_READ_TTL_MS) return;
    try {
      const row = this.#board.get(this.provider);
      this.#shared = { untilMs: row?.throttledUntilMs ?? 0, remaining: row?.remainingRequests, readAt: now };
    } catch {
      // Board unavailable: local knowledge only.
      this.#shared.readAt = now;
    }
  }

  /** Epoch ms before which no request should start (0 when open). */
  get until(): number {
    this.#readBoard();
    return Math.max(this.#until, this.#shared.untilMs);
  }

  /** The headroom another process last wrote to the board, if any. */
  get sharedRemaining(): number | undefined {
    this.#readBoard();
    return this.#shared.remaining;
  }

  remainingMs(now = Date.now()): number {
    return Math.max(0, this.until - now);
  }

  throttle(retryAfterMs: number, now = Date.now()): void {
    if (retryAfterMs <= 0) return;
    this.#until = Math.max(this.#until, now + retryAfterMs);
    try { this.#board?.throttle(this.provider, retryAfterMs); } catch { /* best effort */ }
  }

  /**
   * Records `x-ratelimit-remaining-requests`: in the headroom gauge at once (KI-22), and
   * on the board shared with other processes (KI-18) at most every
   * BOARD_HEADROOM_WRITE_MS, or at once when it fell by half, so a burst of uploads does
   * not turn into a burst of SQLite writes on the event loop.
   */
  noteHeadroom(remaining: number | undefined): void {
    if (remaining === undefined) return;
    setRateLimitHeadroom(this.provider, remaining);
    if (!this.#board) return;
    const now = performance.now();
    if (now - this.#written.at < BOARD_HEADROOM_WRITE_MS && remaining > this.#written.remaining / 2) return;
    this.#written = { remaining, at: now };
    try { this.#board.headroom(this.provider, remaining); } catch { /* best effort */ }
  }

  /** "Throttled until about T" for a step of a call (KI-17), with retryAfterMs. */
  throttledError(what: string, cause?: unknown): SbError {
    return throttledError({ provider: this.provider, what, untilMs: Date.now() + Math.max(this.remainingMs(), DEFAULTS.RATE_LIMIT_MIN_WAIT_MS), cause });
  }

  /**
   * Turns a deadline that ended while throttled into a clear error (KI-17); any other
   * abort keeps its own meaning.
   */
  abortError(signal: AbortSignal, what = 'upload files'): SbError {
    const base = abortReasonToError(signal.reason);
    if (base.code === ErrorCode.DEADLINE_EXCEEDED && this.remainingMs() > 0) return this.throttledError(what, signal.reason);
    return base;
  }
}
