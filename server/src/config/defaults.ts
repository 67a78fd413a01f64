/**
 * Every default of the server, in one place, with units in the names.
 * Environment variables and the model catalogue override some of them (see config/env.ts).
 */
export const DEFAULTS = {
  /** Deadline of a chat call when the model entry sets none. */
  CALL_TIMEOUT_MS: 300_000,
  /** Calls whose timeout is at least this long use OpenAI background mode. */
  BACKGROUND_THRESHOLD_MS: 180_000,
  /** Background polling: first interval, cap and growth factor. */
  POLL_INITIAL_INTERVAL_MS: 1_000,
  POLL_MAX_INTERVAL_MS: 5_000,
  POLL_BACKOFF_FACTOR: 1.5,
  /** KI-06: progress is sent at least this often during long work (clients reset timers on it). */
  PROGRESS_INTERVAL_MS: 5_000,
  /** Retry policy: attempts after the first, full-jitter exponential base and cap. */
  RETRY_MAX_ATTEMPTS: 6,
  RETRY_BASE_DELAY_MS: 500,
  RETRY_MAX_DELAY_MS: 30_000,
  /** Circuit breaker: consecutive failures that open it, and how long it stays open before a half-open probe. */
  CIRCUIT_CONSECUTIVE_FAILURES: 5,
  CIRCUIT_HALF_OPEN_AFTER_MS: 10_000,
  /** Logging: bounded in-memory buffer in front of the non-blocking stderr writer. */
  LOG_BUFFER_MAX_BYTES: 1_048_576,
  /** Event-loop watchdog threshold. */
  LOOP_STALL_THRESHOLD_MS: 200,
  /** Shutdown: how long in-flight calls and telemetry get to finish. */
  SHUTDOWN_GRACE_MS: 3_000,
  /** Context: fraction of the context window used for the prompt, and tokens reserved for instructions + output. */
  CONTEXT_BUDGET_FRACTION: 0.85,
  CONTEXT_RESERVE_TOKENS: 8_000,
  /** Context: per-file and total byte caps while gathering. */
  MAX_FILE_BYTES: 1_048_576,
  MAX_TOTAL_BYTES: 104_857_600,
  MAX_FILES: 50_000,
  /** Context: concurrent file opens while gathering (KI-08, KI-12: below the libuv pool of 4). */
  GATHER_CONCURRENCY: 2,
  /** Vector stores: upload concurrency start / min / max, store limit, expiry. */
  UPLOAD_CONCURRENCY_START: 4,
  UPLOAD_CONCURRENCY_MIN: 1,
  UPLOAD_CONCURRENCY_MAX: 16,
  UPLOAD_MAX_ATTEMPTS: 3,
  BATCH_POLL_INTERVAL_MS: 500,
  BATCH_DEADLINE_MS: 120_000,
  STORE_LIMIT: 100,
  STORE_EXPIRES_AFTER_DAYS: 2,
  JANITOR_INTERVAL_MS: 600_000,
  STORE_IDLE_TTL_MS: 86_400_000,
  /** Memory (project history): queue bound, per-task deadline, git command timeout. */
  MEMORY_QUEUE_MAX: 16,
  MEMORY_TASK_TIMEOUT_MS: 60_000,
  GIT_TIMEOUT_MS: 5_000,
  /** Jobs: how long finished jobs are kept. */
  JOB_RETENTION_MS: 7 * 86_400_000,
} as const;

export type Defaults = { -readonly [K in keyof typeof DEFAULTS]: (typeof DEFAULTS)[K] extends number ? number : (typeof DEFAULTS)[K] };
