/**
 * The one error module. Every error the server raises on purpose is an SbError with a
 * stable string code; callers match on `code`, never on message text.
 * Messages follow "Failed to X: reason. Try Y." so a person can act on them.
 * A message is redacted when the error is made (API keys and key-shaped strings become
 * `[redacted]`), so an upstream 401 that echoes the key cannot carry it further.
 */
import { redactString } from './logging/redact.ts';

export const ErrorCode = {
  INVALID_ARGUMENT: 'SB_ERR_INVALID_ARGUMENT',
  PATH_OUTSIDE_ROOTS: 'SB_ERR_PATH_OUTSIDE_ROOTS',
  PATH_NOT_FOUND: 'SB_ERR_PATH_NOT_FOUND',
  MISSING_API_KEY: 'SB_ERR_MISSING_API_KEY',
  UNKNOWN_MODEL: 'SB_ERR_UNKNOWN_MODEL',
  UPSTREAM_TIMEOUT: 'SB_ERR_UPSTREAM_TIMEOUT',
  UPSTREAM_ERROR: 'SB_ERR_UPSTREAM_ERROR',
  UPSTREAM_BAD_RESPONSE: 'SB_ERR_UPSTREAM_BAD_RESPONSE',
  /** The provider answered, but the response itself ended `failed` or `cancelled`. */
  UPSTREAM_RESPONSE_FAILED: 'SB_ERR_UPSTREAM_RESPONSE_FAILED',
  /** A failure on this machine (state database, file system) during a call; not the provider's. */
  LOCAL_FAILURE: 'SB_ERR_LOCAL_FAILURE',
  RATE_LIMITED: 'SB_ERR_RATE_LIMITED',
  QUOTA_EXCEEDED: 'SB_ERR_QUOTA_EXCEEDED',
  CIRCUIT_OPEN: 'SB_ERR_CIRCUIT_OPEN',
  CANCELLED: 'SB_ERR_CANCELLED',
  DEADLINE_EXCEEDED: 'SB_ERR_DEADLINE_EXCEEDED',
  SESSION_BUSY: 'SB_ERR_SESSION_BUSY',
  PREVIOUS_RESPONSE_NOT_FOUND: 'SB_ERR_PREVIOUS_RESPONSE_NOT_FOUND',
  STORE_LIMIT: 'SB_ERR_STORE_LIMIT',
  UPLOAD_FAILED: 'SB_ERR_UPLOAD_FAILED',
  JOB_NOT_FOUND: 'SB_ERR_JOB_NOT_FOUND',
  CONFIG: 'SB_ERR_CONFIG',
  SHUTTING_DOWN: 'SB_ERR_SHUTTING_DOWN',
  /** The state dir or database cannot be written (read-only file system, permissions). */
  STATE_UNWRITABLE: 'SB_ERR_STATE_UNWRITABLE',
  /** The file system holding the state database is full. */
  STATE_DISK_FULL: 'SB_ERR_STATE_DISK_FULL',
  /** The state file is not a SQLite database, or is damaged. */
  STATE_CORRUPT: 'SB_ERR_STATE_CORRUPT',
  /** The state database was written by a newer second-brain (schema version ahead of this one). */
  STATE_TOO_NEW: 'SB_ERR_STATE_TOO_NEW',
  /** A command-line usage error (unknown flag, missing value). */
  USAGE: 'SB_ERR_USAGE',
  INTERNAL: 'SB_ERR_INTERNAL',
  /** An argument or message larger than a local limit (model window, transport message size). */
  INPUT_TOO_LARGE: 'SB_ERR_INPUT_TOO_LARGE',
  /** The local stack ran out (input nested too deeply); never the provider's fault. */
  STACK_OVERFLOW: 'SB_ERR_STACK_OVERFLOW',
  /** The local state database (SQLite) failed. */
  STATE_DB: 'SB_ERR_STATE_DB',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface SbErrorOptions {
  cause?: unknown;
  /** Upstream provider involved, if any (openai, xai, gemini). */
  provider?: string;
  /** HTTP status from upstream, if any. */
  status?: number;
  /** How long the caller should wait before retrying, in ms. */
  retryAfterMs?: number;
  /** Extra structured detail safe to show to the user. */
  details?: Record<string, unknown>;
}

export class SbError extends Error {
  readonly code: ErrorCode;
  readonly provider?: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SbErrorOptions = {}) {
    super(redactString(message), { cause: options.cause });
    this.name = 'SbError';
    this.code = code;
    this.provider = options.provider;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }
}

export function isSbError(err: unknown, code?: ErrorCode): err is SbError {
  return err instanceof SbError && (code === undefined || err.code === code);
}

/** True when the error is (or wraps) an abort: DOMException AbortError, TimeoutError or our CANCELLED. */
export function isAbortError(err: unknown): boolean {
  for (let e: any = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (e instanceof SbError) return e.code === ErrorCode.CANCELLED;
    const name = e?.name;
    if (name === 'AbortError' || name === 'APIUserAbortError') return true;
  }
  return false;
}

/**
 * A local failure that must never be reported as the provider's: a stack overflow (a
 * RangeError from deep recursion, e.g. serialising a schema nested 200,000 levels) or an
 * error of node:sqlite. Returns undefined for anything else.
 */
export function localFailure(err: unknown, what = 'finish the call'): SbError | undefined {
  if (err instanceof SbError) return undefined;
  if (err instanceof RangeError && /call stack size/i.test(err.message)) {
    return new SbError(ErrorCode.STACK_OVERFLOW, `Failed to ${what}: the input is nested too deeply to process here (local stack overflow). Flatten it and try again.`, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_SQLITE')) {
    return new SbError(ErrorCode.STATE_DB, `Failed to ${what}: the local state database failed (${(err as Error).message}). Check SECOND_BRAIN_HOME (disk space, permissions) and try again.`, { cause: err });
  }
  return undefined;
}

/** Turns whatever was thrown into an SbError, keeping the original as cause. */
export function toSbError(err: unknown, fallbackMessage = 'Internal error'): SbError {
  if (err instanceof SbError) return err;
  const local = localFailure(err);
  if (local) return local;
  if (isAbortError(err)) return new SbError(ErrorCode.CANCELLED, 'The call was cancelled.', { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new SbError(ErrorCode.INTERNAL, `${fallbackMessage}: ${msg}`, { cause: err });
}

/** Throws the signal's reason as SB_ERR_CANCELLED / SB_ERR_DEADLINE_EXCEEDED if aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReasonToError(signal.reason);
}

export function abortReasonToError(reason: unknown): SbError {
  if (reason instanceof SbError) return reason;
  if ((reason as any)?.name === 'TimeoutError') {
    return new SbError(ErrorCode.DEADLINE_EXCEEDED, 'Failed to finish before the call deadline. Try a smaller context, a longer timeout, or start_job.', { cause: reason });
  }
  return new SbError(ErrorCode.CANCELLED, 'The call was cancelled.', { cause: reason });
}
