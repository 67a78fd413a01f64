/**
 * The errors an upstream failure ends in, for every upstream call of the server: the
 * throttle ("throttling this account until about T", KI-17), the exhausted quota, and the
 * final failure of a request, with an actionable message. Two audiences, one family:
 * - a whole call (the chat providers): the error goes to the user as it is, so it names
 *   the provider and offers start_job;
 * - a step of a vector-store call: it names the step ("attach files"), and a failure on
 *   this machine is told apart from one of the provider.
 */
import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { ErrorCode, SbError, isAbortError, isSbError, localFailure } from '../errors.ts';
import { classifyFailure } from './classify.ts';

const LABELS: Record<string, string> = { openai: 'OpenAI', xai: 'xAI', gemini: 'Gemini' };

/** The provider's name as written in prose ("OpenAI"). */
export function providerLabel(provider: string): string {
  return LABELS[provider] ?? provider;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

export interface ThrottledErrorOptions {
  provider: string;
  /** When the account may send again (epoch ms). */
  untilMs: number;
  /** The step that failed ("upload files"); without it the error speaks for a whole call. */
  what?: string;
  /** The provider's own retry-after, named in a whole call's message. */
  retryAfterMs?: number;
  /** The call used up its retries (rather than its deadline). */
  exhausted?: boolean;
  cause?: unknown;
}

/** SB_ERR_RATE_LIMITED: says what failed, until when, and what to do (KI-17). */
export function throttledError(o: ThrottledErrorOptions): SbError {
  const leftMs = Math.max(0, o.untilMs - Date.now());
  const waitS = Math.max(1, Math.ceil(leftMs / 1000));
  const until = `until about ${clock(o.untilMs)} UTC`;
  const message = o.what !== undefined
    ? `Failed to ${o.what}: ${providerLabel(o.provider)} is throttling this account ${until}${o.exhausted ? ', retries exhausted' : ''}. Try again in ${waitS} s.`
    : `Failed: ${o.provider} is throttling this account (rate limited) ${until}` +
      `${o.retryAfterMs !== undefined ? ` (retry-after ${Math.ceil(o.retryAfterMs / 1000)} s)` : ''}${o.exhausted ? ', retries exhausted' : ''}. ` +
      `Try again in ${waitS} s, or use start_job.`;
  return new SbError(ErrorCode.RATE_LIMITED, message, { provider: o.provider, status: 429, retryAfterMs: leftMs, cause: o.cause });
}

/** SB_ERR_QUOTA_EXCEEDED: a 429 insufficient_quota, which no retry can help. */
export function quotaError(provider: string, what: string, cause: unknown): SbError {
  return new SbError(ErrorCode.QUOTA_EXCEEDED, `Failed to ${what} with ${provider}: the account has no quota left (insufficient_quota). Check the plan and billing of the key.`,
    { provider, status: 429, cause });
}

/** SB_ERR_CIRCUIT_OPEN: too many consecutive failures; calls are paused for `waitMs`. */
export function circuitOpenError(provider: string, what: string, waitMs: number, cause: unknown): SbError {
  return new SbError(ErrorCode.CIRCUIT_OPEN,
    `Failed to ${what} with ${provider}: too many consecutive upstream failures, calls are paused until about ${clock(Date.now() + waitMs)}. Try again later or use start_job.`,
    { provider, cause, retryAfterMs: waitMs });
}

/** True when the failure came from the request to the provider (an answer, a connection, a timeout), not from this machine. */
function isUpstreamFailure(err: unknown): boolean {
  if (err instanceof APIError || err instanceof APIUserAbortError || isAbortError(err)) return true;
  return (err as { name?: string })?.name === 'TimeoutError';
}

/** Converts a whole call's final upstream error into an SbError with an actionable message. */
export function callFailureError(provider: string, what: string, err: unknown, extra?: string): SbError {
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

/**
 * Wraps a step's raw failure in an SbError naming what failed; SbErrors pass through.
 * A local failure (the state database, e.g. a UNIQUE constraint while recording a store
 * id; the file system) is SB_ERR_LOCAL_FAILURE: it is not blamed on the provider.
 */
export function stepFailureError(provider: string, what: string, err: unknown): SbError {
  if (err instanceof SbError) return err;
  const name = providerLabel(provider);
  if (!isUpstreamFailure(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new SbError(ErrorCode.LOCAL_FAILURE, `Failed to ${what}: a local error on this machine, not an ${name} failure (${message}). Check the state directory (SECOND_BRAIN_HOME); retrying may help if another process was writing it.`,
      { cause: err });
  }
  const f = classifyFailure(err);
  const detail = f.status ? `${name} answered HTTP ${f.status}${f.code ? ` (${f.code})` : ''}: ${f.message}` : `the request to ${name} failed: ${f.message}`;
  return new SbError(ErrorCode.UPSTREAM_ERROR, `Failed to ${what}: ${detail}. Try again shortly; if it persists, check the ${name} status page.`,
    { provider, status: f.status, cause: err });
}
