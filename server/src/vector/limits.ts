/**
 * The manager's limits: defaults (from config/defaults.ts) and eager validation, so a
 * wrong setting fails at construction with a message naming it.
 */
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError } from '../errors.ts';
import type { VectorLimits } from './types.ts';

/** Every limit with its default (DEFAULTS holds the shared ones). */
export function defaultVectorLimits(): VectorLimits {
  return {
    uploadConcurrencyStart: DEFAULTS.UPLOAD_CONCURRENCY_START,
    uploadConcurrencyMin: DEFAULTS.UPLOAD_CONCURRENCY_MIN,
    uploadConcurrencyMax: DEFAULTS.UPLOAD_CONCURRENCY_MAX,
    uploadMaxAttempts: DEFAULTS.UPLOAD_MAX_ATTEMPTS,
    uploadMaxRateLimitRetries: DEFAULTS.UPLOAD_MAX_RATE_LIMIT_RETRIES,
    uploadRequestTimeoutMs: DEFAULTS.UPLOAD_REQUEST_TIMEOUT_MS,
    uploadLeaseMs: DEFAULTS.UPLOAD_LEASE_MS,
    readConcurrency: DEFAULTS.GATHER_CONCURRENCY,
    batchMaxFiles: DEFAULTS.BATCH_MAX_FILES,
    batchConcurrency: DEFAULTS.BATCH_CONCURRENCY,
    batchPollIntervalMs: DEFAULTS.BATCH_POLL_INTERVAL_MS,
    batchDeadlineMs: DEFAULTS.BATCH_DEADLINE_MS,
    claimPollIntervalMs: 250,
    storeLimit: DEFAULTS.STORE_LIMIT,
    storeReserve: 1,
    storeExpiresAfterDays: DEFAULTS.STORE_EXPIRES_AFTER_DAYS,
    storeEvictMinIdleMs: DEFAULTS.STORE_EVICT_MIN_IDLE_MS,
    cleanupRequestTimeoutMs: DEFAULTS.CLEANUP_REQUEST_TIMEOUT_MS,
    retryBaseDelayMs: DEFAULTS.RETRY_BASE_DELAY_MS,
    retryMaxDelayMs: DEFAULTS.RETRY_MAX_DELAY_MS,
    bundleMaxBytes: DEFAULTS.VECTOR_BUNDLE_MAX_BYTES,
    bundleMinBytes: DEFAULTS.VECTOR_BUNDLE_MIN_BYTES,
  };
}

/** Merges and validates limits; unknown keys and bad values fail at construction. */
export function resolveVectorLimits(partial: Partial<VectorLimits> | undefined): VectorLimits {
  const limits = defaultVectorLimits();
  for (const [k, v] of Object.entries(partial ?? {})) {
    if (!(k in limits)) throw new SbError(ErrorCode.CONFIG, `Unknown vector-store limit "${k}". Accepted: ${Object.keys(limits).join(', ')}.`);
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new SbError(ErrorCode.CONFIG, `Vector-store limit "${k}" must be a finite number >= 0; got ${String(v)}.`);
    }
    (limits as unknown as Record<string, number>)[k] = v;
  }
  const positive: Array<keyof VectorLimits> = ['uploadConcurrencyStart', 'uploadConcurrencyMin', 'uploadConcurrencyMax', 'uploadMaxAttempts',
    'readConcurrency', 'batchMaxFiles', 'batchConcurrency', 'batchPollIntervalMs', 'batchDeadlineMs', 'claimPollIntervalMs',
    'storeLimit', 'storeExpiresAfterDays', 'bundleMaxBytes', 'bundleMinBytes', 'uploadLeaseMs', 'uploadRequestTimeoutMs', 'cleanupRequestTimeoutMs'];
  for (const k of positive) {
    if (!(limits[k] > 0)) throw new SbError(ErrorCode.CONFIG, `Vector-store limit "${k}" must be greater than 0; got ${limits[k]}.`);
  }
  if (limits.batchMaxFiles > 2000) throw new SbError(ErrorCode.CONFIG, `Vector-store limit "batchMaxFiles" must be at most 2000 (the provider's batch size); got ${limits.batchMaxFiles}.`);
  const { uploadConcurrencyMin: min, uploadConcurrencyStart: start, uploadConcurrencyMax: max } = limits;
  if (!(min <= start && start <= max)) {
    throw new SbError(ErrorCode.CONFIG, `Upload concurrency needs uploadConcurrencyMin <= uploadConcurrencyStart <= uploadConcurrencyMax; got ${min}, ${start}, ${max}.`);
  }
  if (limits.bundleMinBytes > limits.bundleMaxBytes) throw new SbError(ErrorCode.CONFIG, `Vector-store limit "bundleMinBytes" must be at most "bundleMaxBytes"; got ${limits.bundleMinBytes} and ${limits.bundleMaxBytes}.`);
  if (limits.storeReserve >= limits.storeLimit) throw new SbError(ErrorCode.CONFIG, `Vector-store limit "storeReserve" must be below "storeLimit"; got ${limits.storeReserve} and ${limits.storeLimit}.`);
  return limits;
}
