/**
 * Talking to the vector-store endpoints: error classification, the shared throttle
 * gate, and a bounded retry for the small calls (store create, batch create, polls).
 * The SDK client is built with maxRetries: 0, so every retry the manager makes is here
 * or in the uploader, bounded in count, honouring `retry-after`, every wait abortable.
 */
import { APIError, APIUserAbortError } from 'openai';
import { ErrorCode, SbError, abortReasonToError, isAbortError } from '../errors.ts';
import { fullJitter, sleep as abortableSleep } from '../resilience/sleep.ts';
import { classifyFailure } from '../resilience/classify.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { vectorGates } from './gates.ts';
import { setRateLimitHeadroom } from '../telemetry/metrics.ts';

/** What a process-shared rate-limit board must offer (state/rate-limits.ts fits; KI-18). */
export interface RateLimitBoard {
  get(provider: string): { throttledUntilMs: number } | undefined;
  throttle(provider: string, retryAfterMs: number): void;
  headroom(provider: string, remainingRequests: number): void;
}

/** True for the provider's "too many vector stores" refusal (KI-13). */
export function isStoreLimitError(err: unknown): boolean {
  if (!(err instanceof APIError)) return false;
  if (err.code === 'vector_store_limit_exceeded') return true;
  // Providers without the code still answer 400 with a message naming the limit.
  return err.status === 400 && /maximum number of vector stores|vector store limit/i.test(err.message);
}

/**
 * Abortable wait (resilience/sleep.ts). The timer keeps the process alive on purpose: a
 * call waiting here is work the process must stay for.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return abortableSleep(ms, signal, { keepAlive: true });
}

export function isNotFound(err: unknown): boolean {
  return err instanceof APIError && err.status === 404;
}

const BOARD_READ_TTL_MS = DEFAULTS.RATE_BOARD_READ_TTL_MS;
const BOARD_HEADROOM_WRITE_MS = DEFAULTS.RATE_BOARD_HEADROOM_WRITE_MS;

function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/**
 * One pause shared by every request of a manager: after a 429 nobody sends until the
 * provider's `retry-after` has passed (no retry storm, KI-17), and other processes
 * sharing the state dir hold back too through the board (KI-18).
 */
export class ThrottleGate {
  #until = 0;
  readonly #board?: RateLimitBoard;
  readonly #provider: string;
  /** The board's throttle deadline as last read, and when (see BOARD_READ_TTL_MS). */
  #shared = { untilMs: 0, readAt: Number.NEGATIVE_INFINITY };
  /** The headroom last written to the board, and when (see BOARD_HEADROOM_WRITE_MS). */
  #written = { remaining: Number.POSITIVE_INFINITY, at: Number.NEGATIVE_INFINITY };

  constructor(board?: RateLimitBoard, provider = 'openai') {
    this.#board = board;
    this.#provider = provider;
  }

  /** Epoch ms before which no request should start (0 when open). */
  get until(): number {
    const now = performance.now();
    // Every upload asks; a SQLite read per ask is event-loop time for no news (KI-01).
    if (this.#board && now - this.#shared.readAt >= BOARD_READ_TTL_MS) {
      try { this.#shared.untilMs = this.#board.get(this.#provider)?.throttledUntilMs ?? 0; } catch { /* board unavailable: local knowledge only */ }
      this.#shared.readAt = now;
    }
    return Math.max(this.#until, this.#shared.untilMs);
  }

  remainingMs(now = Date.now()): number {
    return Math.max(0, this.until - now);
  }

  throttle(retryAfterMs: number, now = Date.now()): void {
    this.#until = Math.max(this.#until, now + retryAfterMs);
    try { this.#board?.throttle(this.#provider, retryAfterMs); } catch { /* best effort */ }
  }

  /**
   * Records `x-ratelimit-remaining-requests`: in the headroom gauge at once (KI-22), and
   * on the board shared with other processes (KI-18) at most every
   * BOARD_HEADROOM_WRITE_MS, or at once when it fell by half, so a burst of uploads does
   * not turn into a burst of SQLite writes on the event loop.
   */
  noteHeadroom(remaining: number | undefined): void {
    if (remaining === undefined) return;
    setRateLimitHeadroom(this.#provider, remaining);
    if (!this.#board) return;
    const now = performance.now();
    if (now - this.#written.at < BOARD_HEADROOM_WRITE_MS && remaining > this.#written.remaining / 2) return;
    this.#written = { remaining, at: now };
    try { this.#board.headroom(this.#provider, remaining); } catch { /* best effort */ }
  }

  /** Waits until the gate opens, reporting "throttled, retrying in N s" while it waits. */
  async wait(signal: AbortSignal, report?: (message: string) => void): Promise<void> {
    for (;;) {
      const ms = this.remainingMs();
      if (ms <= 0) return;
      report?.(`throttled, retrying in ${Math.ceil(ms / 1000)} s`);
      await sleep(Math.min(ms, 5_000), signal);
    }
  }

  /** "Throttled until about T" (KI-17), with retryAfterMs. */
  throttledError(what: string, cause?: unknown): SbError {
    const ms = Math.max(this.remainingMs(), 1_000);
    return new SbError(ErrorCode.RATE_LIMITED,
      `Failed to ${what}: OpenAI is throttling this account until about ${clockTime(Date.now() + ms)} UTC. Try again in ${Math.ceil(ms / 1000)} s.`,
      { provider: 'openai', status: 429, retryAfterMs: ms, cause });
  }

  /**
   * Turns a deadline that ended while throttled into a clear error (KI-17); any other
   * abort keeps its own meaning.
   */
  abortError(signal: AbortSignal): SbError {
    const base = abortReasonToError(signal.reason);
    if (base.code === ErrorCode.DEADLINE_EXCEEDED && this.remainingMs() > 0) return this.throttledError('upload files', signal.reason);
    return base;
  }
}

export interface RetryOptions {
  signal: AbortSignal;
  gate: ThrottleGate;
  /** Attempts in all for server and connection failures, including the first. */
  attempts: number;
  /** Further tries after a 429, each after the provider's retry-after. Default DEFAULTS.UPLOAD_MAX_RATE_LIMIT_RETRIES. */
  rateLimitRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  report?: (message: string) => void;
  onHeadroom?: (remaining: number) => void;
}

/**
 * Runs `fn` until it succeeds, fails for good, or runs out of tries. 429s wait out
 * `retry-after` through the shared gate (their own bound: a throttle window is long but
 * ends, KI-17); other retryable failures back off with full jitter. Running out of 429
 * tries ends in SB_ERR_RATE_LIMITED saying until when.
 */
export async function withRetry<T>(fn: (signal: AbortSignal) => Promise<T>, options: RetryOptions): Promise<T> {
  const { signal, gate } = options;
  const maxThrottles = options.rateLimitRetries ?? DEFAULTS.UPLOAD_MAX_RATE_LIMIT_RETRIES;
  let failures = 0;
  let throttles = 0;
  for (;;) {
    await gate.wait(signal, options.report);
    // A gate installed by the wiring (none in production; a shared permit under a test defect, KI-02).
    const takePermit = vectorGates().request;
    const permit = takePermit ? await takePermit(signal) : undefined;
    try {
      return await fn(signal);
    } catch (err) {
      if (signal.aborted) throw abortReasonToError(signal.reason);
      const f = classifyFailure(err);
      if (f.remainingRequests !== undefined) options.onHeadroom?.(f.remainingRequests);
      const backoff = fullJitter(failures, options.baseDelayMs ?? 500, options.maxDelayMs ?? 30_000);
      if (f.rateLimited) {
        const wait = f.retryAfterMs ?? Math.max(backoff, 1_000);
        gate.throttle(wait);
        if (++throttles > maxThrottles) throw gate.throttledError('call OpenAI', err);
        continue;
      }
      if (!f.retryable || ++failures >= options.attempts) throw err;
      permit?.();
      await sleep(f.retryAfterMs ?? backoff, signal);
    } finally {
      permit?.();
    }
  }
}

/** True when the failure came from the request to the provider (an answer, a connection, a timeout), not from this machine. */
export function isUpstreamFailure(err: unknown): boolean {
  if (err instanceof APIError || err instanceof APIUserAbortError || isAbortError(err)) return true;
  return (err as { name?: string })?.name === 'TimeoutError';
}

/**
 * Wraps a raw upstream failure in an SbError naming what failed; SbErrors pass through.
 * A local failure (the state database, e.g. a UNIQUE constraint while recording a store
 * id; the file system) is SB_ERR_LOCAL_FAILURE: it is not blamed on OpenAI.
 */
export function upstreamError(err: unknown, what: string): SbError {
  if (err instanceof SbError) return err;
  if (!isUpstreamFailure(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new SbError(ErrorCode.LOCAL_FAILURE, `Failed to ${what}: a local error on this machine, not an OpenAI failure (${message}). Check the state directory (SECOND_BRAIN_HOME); retrying may help if another process was writing it.`,
      { cause: err });
  }
  const f = classifyFailure(err);
  const detail = f.status ? `OpenAI answered HTTP ${f.status}${f.code ? ` (${f.code})` : ''}: ${f.message}` : `the request to OpenAI failed: ${f.message}`;
  return new SbError(ErrorCode.UPSTREAM_ERROR, `Failed to ${what}: ${detail}. Try again shortly; if it persists, check the OpenAI status page.`,
    { provider: 'openai', status: f.status, cause: err });
}

/**
 * A signal for cleanup work that must outlive an aborted call (cancelling a batch,
 * deleting debris): its own short deadline, not the call's signal (KI-03, KI-02).
 */
export function cleanupSignal(timeoutMs: number, parent?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(timeoutMs);
  return parent ? AbortSignal.any([parent, t]) : t;
}
