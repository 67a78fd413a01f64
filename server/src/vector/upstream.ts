/**
 * Talking to the vector-store endpoints: the vector-store defaults of the one retry
 * engine (resilience/retry.ts) and a few readings of the provider's answers. The SDK
 * client is built with maxRetries: 0, so every retry is the engine's, behind the
 * account's throttle gate, bounded in count, honouring `retry-after`, every wait abortable.
 */
import { APIError } from 'openai';
import { sleep as abortableSleep } from '../resilience/sleep.ts';
import { retryUpstream, type RetryUpstreamOptions } from '../resilience/retry.ts';
import { stepFailureError } from '../resilience/upstream-errors.ts';
import type { SbError } from '../errors.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { vectorGates } from './gates.ts';

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

export interface RetryOptions extends Omit<RetryUpstreamOptions, 'attempts' | 'progress'> {
  /** Attempts in all for server and connection failures, including the first. */
  attempts: number;
  /** Further tries after a 429, each after the provider's retry-after. Default DEFAULTS.UPLOAD_MAX_RATE_LIMIT_RETRIES. */
  rateLimitRetries?: number;
  report?: (message: string) => void;
  onHeadroom?: (remaining: number) => void;
}

/** A permit around each try, when the wiring installed one (none in production; a shared permit under a test defect, KI-02). */
function aroundPermit(take: (signal: AbortSignal) => Promise<() => void>, signal: AbortSignal) {
  return async <T>(attempt: () => Promise<T>): Promise<T> => {
    const release = await take(signal);
    try {
      return await attempt();
    } finally {
      release();
    }
  };
}

/**
 * retryUpstream with the vector-store defaults: 429s have their own bound and wait at
 * least RATE_LIMIT_MIN_WAIT_MS behind the gate, and the raw error of a final failure is
 * thrown for the caller to read (404, the store limit); running out of 429 tries ends in
 * SB_ERR_RATE_LIMITED saying until when.
 */
export function withRetry<T>(fn: (signal: AbortSignal) => Promise<T>, options: RetryOptions): Promise<T> {
  const { report, onHeadroom, ...rest } = options;
  const takePermit = vectorGates().request;
  return retryUpstream(fn, {
    rateLimitFloorMs: DEFAULTS.RATE_LIMIT_MIN_WAIT_MS,
    keepAlive: true,
    // The call's own signal, as the requests always had: SDK pages keep it for getNextPage.
    signalPerTry: false,
    ...(takePermit ? { around: aroundPermit(takePermit, options.signal) } : {}),
    ...rest,
    ...(rest.rateLimitRetries === undefined ? { rateLimitRetries: DEFAULTS.UPLOAD_MAX_RATE_LIMIT_RETRIES } : {}),
    ...(report ? { progress: report } : {}),
    onFailure: (f, d) => {
      if (f.remainingRequests !== undefined) onHeadroom?.(f.remainingRequests);
      rest.onFailure?.(f, d);
    },
  });
}

/** A step's raw failure as an SbError naming what failed (resilience/upstream-errors.ts). */
export function upstreamError(err: unknown, what: string): SbError {
  return stepFailureError('openai', what, err);
}

/**
 * A signal for cleanup work that must outlive an aborted call (cancelling a batch,
 * deleting debris): its own short deadline, not the call's signal (KI-03, KI-02).
 */
export function cleanupSignal(timeoutMs: number, parent?: AbortSignal): AbortSignal {
  const t = AbortSignal.timeout(timeoutMs);
  return parent ? AbortSignal.any([parent, t]) : t;
}
