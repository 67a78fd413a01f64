/**
 * The one classification of an upstream failure, for every upstream call of the server
 * (the chat providers' ProviderResilience and the vector-store requests alike): whether
 * another attempt is worth it, whether it was a throttle or an exhausted quota, whether our
 * own signal aborted it, and what the provider said (status, code, retry-after, headroom).
 */
import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { ErrorCode, isAbortError, isSbError } from '../errors.ts';
import { parseRemainingRequests, parseRetryAfterMs, parseRetryInfoMs } from './retry-after.ts';

export interface UpstreamFailure {
  /** Worth another attempt: 408, 409, 429 (not a quota), 5xx, connection failures, a per-request timeout. */
  retryable: boolean;
  /** A 429 that is a throttle (wait and retry), not an exhausted quota. */
  rateLimited: boolean;
  /** A 429 with code insufficient_quota: retrying cannot help. */
  quota: boolean;
  /** The request was aborted by our own signal. */
  aborted: boolean;
  /** The provider answered, so it did not act on the request (a 4xx/5xx response). */
  answered: boolean;
  status?: number;
  code?: string;
  headers?: Headers;
  retryAfterMs?: number;
  remainingRequests?: number;
  message: string;
}

/** Socket-level failures that escaped the SDK's own classes. */
const CONNECTION_CODES = /ECONNRESET|EPIPE|ECONNREFUSED|UND_ERR_SOCKET|UND_ERR_CLOSED/;

export function classifyFailure(err: unknown): UpstreamFailure {
  const message = err instanceof Error ? err.message : String(err);
  const base = { retryable: false, rateLimited: false, quota: false, aborted: false, answered: false, message };
  if (err instanceof APIUserAbortError || isAbortError(err)) {
    // Aborted by a per-request deadline (AbortSignal.timeout), not by the caller: the
    // request may be retried, and whether the provider acted on it is unknown.
    if ((err as { cause?: { name?: string } }).cause?.name === 'TimeoutError') return { ...base, retryable: true, message: 'the request timed out' };
    return { ...base, aborted: true };
  }
  if (err instanceof APIConnectionError) return { ...base, retryable: true };
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    const headers = err.headers instanceof Headers ? err.headers : undefined;
    const code = typeof err.code === 'string' ? err.code : undefined;
    const quota = status === 429 && code === 'insufficient_quota';
    return {
      ...base,
      retryable: !quota && (status === 408 || status === 409 || status === 429 || status >= 500),
      rateLimited: status === 429 && !quota,
      quota,
      answered: status > 0,
      ...(err.status !== undefined ? { status } : {}),
      ...(code ? { code } : {}),
      ...(headers ? { headers } : {}),
      // The header, or the delay stated in the body (Gemini's RetryInfo).
      retryAfterMs: parseRetryAfterMs(headers) ?? parseRetryInfoMs(err.error),
      remainingRequests: parseRemainingRequests(headers),
    };
  }
  // A malformed answer the adapter could not read: another attempt may get a good one.
  if (isSbError(err)) return { ...base, retryable: err.code === ErrorCode.UPSTREAM_BAD_RESPONSE };
  // A per-request timeout (AbortSignal.timeout) surfaces as TimeoutError from fetch.
  if ((err as { name?: string })?.name === 'TimeoutError') return { ...base, retryable: true };
  const code = (err as { code?: string; cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
  if (code && CONNECTION_CODES.test(code)) return { ...base, retryable: true };
  return base;
}
