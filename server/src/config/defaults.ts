/**
 * Every default of the server, in one place, with units in the names.
 * Environment variables and the model catalogue override some of them (see config/env.ts).
 */
export const DEFAULTS = {
  /** Deadline of a chat call when the model entry sets none. */
  CALL_TIMEOUT_MS: 300_000,
  /** Calls whose timeout is at least this long use OpenAI background mode. */
  BACKGROUND_THRESHOLD_MS: 600_000,
  /** Background polling: first interval, cap and growth factor. */
  POLL_INITIAL_INTERVAL_MS: 1_000,
  POLL_MAX_INTERVAL_MS: 5_000,
  POLL_BACKOFF_FACTOR: 1.5,
  /** Largest token count accepted from an upstream usage report (tokens); above it the figure is clamped and noted. */
  USAGE_MAX_TOKENS: 100_000_000,
  /** KI-06: progress is sent at least this often during long work (clients reset timers on it). */
  PROGRESS_INTERVAL_MS: 5_000,
  /**
   * The heartbeat is due this fraction of the interval early (4.5 s of 5 s), so a timer
   * that fires late on a busy loop still keeps every silence within the interval (a timer
   * due at the interval itself always overran it, by the loop's lateness).
   */
  PROGRESS_HEARTBEAT_EARLY_FRACTION: 0.1,
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
  // Internal tuning, one home for every figure with a unit (not settings: no environment variable).
  /** The whole warm-up gives up after this long; a slow start must never block serving. */
  WARM_UP_TIMEOUT_MS: 2_000,
  /** Loop-stall profiler: CPU sampling interval while a capture runs (microseconds). */
  STALL_PROFILE_SAMPLING_INTERVAL_US: 10_000,
  /** Loop-stall profiler: how long one capture samples. */
  STALL_PROFILE_WINDOW_MS: 10_000,
  /** Loop-stall profiler: least time between two captures. */
  STALL_PROFILE_MIN_GAP_MS: 60_000,
  /** Loop-stall profiler: profile files kept (older ones are deleted). */
  STALL_PROFILE_MAX_KEPT: 5,
  /** The same message shape is logged at most once per interval; the rest are counted. */
  OTEL_DIAG_REPORT_INTERVAL_MS: 30_000,
  /** Grace the SDK processor gives the exporter beyond the exporter's own request timeout. */
  OTEL_PROCESSOR_TIMEOUT_SLACK_MS: 1_000,
  /** Spans tracked as in flight at most (for cancellation marks and diagnostics); the rest are counted, not tracked. */
  ACTIVE_SPANS_MAX_TRACKED: 10_000,
  /** Lines written per write call, at most (one larger line is written alone). */
  TRACE_FILE_WRITE_CHUNK_BYTES: 262_144,
  /** Default deadline of a telemetry flush. */
  TELEMETRY_FLUSH_DEADLINE_MS: 2_000,
  /** Delay histogram resolution, ms. */
  LOOP_HISTOGRAM_RESOLUTION_MS: 20,
  /** The delay figures cover the current window, or the previous one until the current has data. */
  LOOP_HISTOGRAM_WINDOW_MS: 60_000,
  /** SDK-level timeout; the call's own deadline (AbortSignal) is what actually bounds requests. */
  SDK_REQUEST_TIMEOUT_MS: 3_600_000,
  /** Deadline of the best-effort upstream cancel sent after an abort. */
  CANCEL_UPSTREAM_TIMEOUT_MS: 5_000,
  /** Smallest accepted buffer bound: one long record must still fit. */
  LOG_BUFFER_MIN_BYTES: 4_096,
  /** Janitor: most pages of the provider file list read per pass. */
  JANITOR_MAX_FILE_LIST_PAGES: 20,
  /** Clock skew allowed between us and the provider when matching journal rows to files. */
  JANITOR_MATCH_SLACK_MS: 30_000,
  /** Another host's instance is presumed dead after this long unseen (the janitor's default too). */
  INSTANCE_STALE_MS: 3_600_000,
  /** Least interval between "uploaded N/M files" progress messages. */
  UPLOAD_PROGRESS_INTERVAL_MS: 100,
  /** A store reused after this much idle time is first checked upstream (it may have expired). */
  STORE_VERIFY_AFTER_IDLE_MS: 60_000,
  /** Most provider store pages read when counting (100 stores a page). */
  STORE_MAX_LIST_PAGES: 50,
  /** A dead instance's store that never completed is debris once it is this old (creation race margin). */
  STORE_ORPHAN_GRACE_MS: 60_000,
  /** How long closing the services may take at shutdown. */
  SERVICES_CLOSE_MS: 2_000,
  /** Shared rate-limit board: retries of a throttle write that met a locked database, and their spacing. */
  RATE_BOARD_WRITE_RETRIES: 5,
  RATE_BOARD_WRITE_RETRY_MS: 20,
  /** Milliseconds SQLite may block synchronously on a lock before reporting SQLITE_BUSY. */
  STATE_BUSY_TIMEOUT_MS: 20,
  /** Total time a transaction keeps retrying SQLITE_BUSY before failing. */
  STATE_TX_RETRY_BUDGET_MS: 10_000,
  /** How long a finished task's result is kept, ms. */
  TASK_TTL_MS: 3_600_000,
  /** Poll interval suggested to clients, ms. */
  TASK_POLL_INTERVAL_MS: 1_000,
  /** How long a roots/list request to the client may take. */
  ROOTS_REQUEST_TIMEOUT_MS: 3_000,
  /** Below this many content bytes in total, screening runs on the event loop. */
  SECRET_SCAN_INLINE_MAX_BYTES: 262_144,
  /** Content bytes per worker job (bounds the copy and the stale-progress window). */
  SECRET_SCAN_JOB_BYTES: 4_194_304,
  /** Bytes of text measured between two yields to the event loop in the inline paths. */
  TOKENIZE_INLINE_SLICE_BYTES: 4 * 1_048_576,
  /** Files per reader job (bounds the message and how stale the progress gets). */
  READ_JOB_MAX_FILES: 512,
  /** Content bytes after which a reader job returns. */
  READ_JOB_BATCH_BYTES: 1_048_576,
  /** Minimum time between two progress callbacks. */
  GATHER_PROGRESS_MIN_INTERVAL_MS: 100,
  /** Bytes examined at the start of a file. */
  SNIFF_BYTES: 8_192,
  /** Deadline of the delete that removes a half-written entry. */
  MEMORY_CLEANUP_TIMEOUT_MS: 2_000,
  /** Prior turns kept in the history sent to Chat Completions providers. */
  SESSION_HISTORY_TURNS: 20,
  /** Bytes kept from the start and from the end of an oversized line to find its id. */
  STDIO_LOG_EDGE_BYTES: 4_096,
  /** Deferred deletes: the longest wait before a retry, whatever the backoff says. */
  DEFERRED_DELETE_MAX_WAIT_MS: 3_600_000,
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
  /**
   * Upload concurrency and the server's own event loop: at a recent loop delay of this
   * many ms or more the level stops growing, at twice it the level shrinks (the loop, not
   * the provider, is the bottleneck, so more uploads at once only lengthen each loop turn).
   */
  UPLOAD_LOOP_LAG_HOLD_MS: 40,
  /**
   * Upload bodies of at least this many bytes are sent from a private file in the state
   * directory, not from memory: fetch reads an in-memory body into the multipart stream in
   * one turn of the loop (a 4.7 MB bundle stalled it 104 ms on a busy 2-core machine), a
   * file-backed one in asynchronous reads.
   */
  UPLOAD_SPOOL_MIN_BYTES: 1_048_576,
  /** Recent event-loop delay: window of the sampler, and its timer resolution. */
  LOOP_LAG_WINDOW_MS: 500,
  LOOP_LAG_RESOLUTION_MS: 10,
  UPLOAD_MAX_ATTEMPTS: 3,
  BATCH_POLL_INTERVAL_MS: 500,
  BATCH_DEADLINE_MS: 120_000,
  STORE_LIMIT: 100,
  STORE_EXPIRES_AFTER_DAYS: 2,
  JANITOR_INTERVAL_MS: 600_000,
  /** A session's cross-process lease (KI-15): held this long unless renewed; a crashed holder's lease lapses after it. */
  SESSION_LEASE_TTL_MS: 30_000,
  /** Renewal period of a held session lease (a third of the TTL). */
  SESSION_LEASE_RENEW_MS: 10_000,
  /** How often a call waiting for another process's session lease looks again. */
  SESSION_LEASE_POLL_MS: 25,
  /** The janitor's first pass runs this long after start-up, off the request path (a killed process's debris goes within a minute of the restart). */
  JANITOR_STARTUP_DELAY_MS: 5_000,
  /** Under the `store-limit-retried` test defect only: the wait before a refused store creation is tried again (the first version's). */
  STORE_LIMIT_DEFECT_RETRY_MS: 500,
  /** Deadline of that first pass. */
  JANITOR_STARTUP_RUN_TIMEOUT_MS: 50_000,
  STORE_IDLE_TTL_MS: 86_400_000,
  /** Memory (project history): queue bound, per-task deadline, git command timeout. */
  MEMORY_QUEUE_MAX: 16,
  MEMORY_TASK_TIMEOUT_MS: 60_000,
  GIT_TIMEOUT_MS: 5_000,
  /** Jobs: how long finished jobs are kept. */
  JOB_RETENTION_MS: 7 * 86_400_000,
  /** Context: EMFILE/ENFILE while gathering is retried this many times, backing off from the base delay, then the file is skipped. */
  GATHER_EMFILE_MAX_RETRIES: 5,
  GATHER_EMFILE_BASE_DELAY_MS: 20,
  /** Context: skipped entries listed one by one; past this they are only counted. */
  CONTEXT_SKIPPED_LIST_MAX: 1_000,
  /** Context report text (and `count_project_tokens`): files named per class (inline, vector store, left out); the rest are counted. structuredContent names them all. */
  CONTEXT_REPORT_NAMES_MAX: 20,
  /**
   * The largest send without `confirm_large: true`, in input tokens (SECOND_BRAIN_CONFIRM_ABOVE_TOKENS).
   * 200,000: o3 and o3-pro have 200,000-token windows, so their calls never ask; Gemini 2.5 Pro
   * bills input above 200,000 tokens at twice the rate; and a whole-package send to a
   * 1M-window model asks before it spends (this repository's `server/`: 241 files, 350,316 tokens).
   */
  CONFIRM_ABOVE_TOKENS: 200_000,
  /**
   * The output a cost estimate assumes, in tokens (reasoning included): the same 8,000 the
   * budget reserves for the answer (CONTEXT_RESERVE_TOKENS). A stated assumption, not a
   * prediction: reasoning models may write several times more.
   */
  COST_ESTIMATE_OUTPUT_TOKENS: 8_000,
  /** Context: tokenizer/hash worker threads (capped at cores - 1, at least 1), queued jobs, and characters of text per job. */
  CONTEXT_WORKERS_MAX: 2,
  CONTEXT_WORKER_QUEUE_MAX: 64,
  CONTEXT_WORKER_BATCH_MAX_CHARS: 524_288,
  /** Context: inputs below this many bytes are hashed on the event loop (a worker round trip costs more). */
  CONTEXT_INLINE_HASH_MAX_BYTES: 65_536,
  /** Context: share of the token budget the file tree may take before it is condensed to per-directory counts, and the line cap of that summary. */
  CONTEXT_TREE_MAX_BUDGET_FRACTION: 0.2,
  CONTEXT_TREE_MAX_DIR_LINES: 400,
  /** Vector stores: per-request deadline of one upload, and 429 retries per file (each waits out retry-after). */
  UPLOAD_REQUEST_TIMEOUT_MS: 60_000,
  UPLOAD_MAX_RATE_LIMIT_RETRIES: 8,
  /** Vector stores: how long an upload claim in SQLite stays valid without renewal (KI-14, two processes). */
  UPLOAD_LEASE_MS: 60_000,
  /** Vector stores: files per file batch, and batches polled at once (KI-19). */
  BATCH_MAX_FILES: 100,
  BATCH_CONCURRENCY: 4,
  /** Vector stores: deadline of an upstream cancel or delete made for cleanup (KI-02, KI-03). */
  CLEANUP_REQUEST_TIMEOUT_MS: 5_000,
  /** Vector stores: a store used more recently than this is never evicted (a model may be searching it). */
  STORE_EVICT_MIN_IDLE_MS: 600_000,
  /**
   * Vector stores: overflow files are packed into bundles (documents) of at most this many
   * content bytes, cut at a path anchor once they hold the minimum (see vector/bundles.ts).
   * 8 MiB keeps a bundle far below the provider's per-file limits while 50,000 tiny files
   * take one upload; the 6 MiB minimum keeps uploads at or below one per 4 MB of overflow.
   */
  VECTOR_BUNDLE_MAX_BYTES: 8_388_608,
  VECTOR_BUNDLE_MIN_BYTES: 6_291_456,
  /** Arguments: nesting levels a structured_output_schema may have (deeper ones would overflow the stack while serialising). */
  STRUCTURED_SCHEMA_MAX_DEPTH: 64,
  /** Stdio: bytes of one JSON-RPC message (one line) the server reads at most; a longer one is refused with an error. */
  STDIO_MAX_MESSAGE_BYTES: 10_485_760,
  /** Janitor: concurrent deletes, attempts per pending delete, and backoff between them. */
  JANITOR_DELETE_CONCURRENCY: 2,
  JANITOR_DELETE_MAX_ATTEMPTS: 8,
  JANITOR_RETRY_BASE_MS: 30_000,
  /** Memory: provider-side expiry of the project memory store, and caps on what one entry keeps. */
  MEMORY_STORE_EXPIRES_AFTER_DAYS: 90,
  MEMORY_ENTRY_MAX_CHARS: 8_000,
  /**
   * Memory compaction: entries are rolled into digest documents of at most this many
   * entries and bytes; the store keeps at most MEMORY_STORE_MAX_DOCUMENTS digests (the
   * oldest is deleted), and each write retries at most this many deletes of replaced files.
   */
  MEMORY_DIGEST_MAX_ENTRIES: 50,
  MEMORY_DIGEST_MAX_BYTES: 65_536,
  MEMORY_STORE_MAX_DOCUMENTS: 20,
  MEMORY_STALE_DELETES_PER_WRITE: 4,
  /** Memory: branch and HEAD read by git are reused for entries written within this long (one git process per burst, not per call). */
  MEMORY_GIT_INFO_TTL_MS: 5_000,
  /** Telemetry (KI-21): export queue bound per signal, batch size and delay; drops past the bound are counted. */
  TELEMETRY_QUEUE_MAX_ITEMS: 2_048,
  TELEMETRY_BATCH_MAX_ITEMS: 512,
  TELEMETRY_BATCH_DELAY_MS: 1_000,
  /** Telemetry: OTLP request timeout and requests in flight per signal (a dead collector holds little). */
  TELEMETRY_EXPORT_TIMEOUT_MS: 5_000,
  TELEMETRY_EXPORT_CONCURRENCY: 2,
  TELEMETRY_METRIC_INTERVAL_MS: 60_000,
  /** Telemetry local files: bytes per file, files kept per signal, bytes buffered before records are dropped. */
  TELEMETRY_FILE_MAX_BYTES: 10_485_760,
  TELEMETRY_FILE_MAX_COUNT: 5,
  TELEMETRY_FILE_BUFFER_MAX_BYTES: 4_194_304,
  /** HTTP mode: largest request body read (a bigger one gets 413 before it is parsed). */
  HTTP_MAX_BODY_BYTES: 4_194_304,
  /** HTTP mode: MCP sessions open at once; an initialize past it gets 503 and is counted. */
  HTTP_MAX_SESSIONS: 32,
  /** HTTP mode: a session with no request open for this long is closed and its server freed. */
  HTTP_SESSION_IDLE_MS: 1_800_000,
  /** HTTP mode: random bytes in a generated bearer token. */
  HTTP_TOKEN_BYTES: 32,
  /** `second-brain doctor`: how long each endpoint check (provider or OTLP collector) may take. */
  DOCTOR_CHECK_TIMEOUT_MS: 5_000,
  /** `second-brain doctor`: the oldest Node.js the server runs on (type stripping without a flag). */
  DOCTOR_MIN_NODE: '22.18.0',
  /**
   * State database: how long opening it (schema creation, migrations) waits for another
   * process's write lock. Opening happens before serving, so a blocking wait is harmless
   * there; afterwards statements wait at most 20 ms and transactions retry asynchronously.
   */
  STATE_OPEN_BUSY_TIMEOUT_MS: 5_000,
  /**
   * After the last tool call ends, wait this long; if no call has started meanwhile and the
   * JS heap holds at least RECLAIM_MIN_SLACK_BYTES it does not use (committed minus used,
   * plus external buffers), run one memory-reducing collection so a large call's garbage goes
   * back to the system instead of staying resident (runtime/memory-reclaim.ts). That
   * collection pauses the loop (measured 90–130 ms after a 50,000-file call), so it waits
   * for a real lull: 30 s without a call, not the gap between two back-to-back calls.
   * 0 turns it off.
   */
  RECLAIM_AFTER_IDLE_MS: 30_000,
  /** 64 MiB: below it the pause would buy little. */
  RECLAIM_MIN_SLACK_BYTES: 67_108_864,
  /** How long a read of the shared throttle deadline is trusted (another process's 429 reaches us this late at most). */
  RATE_BOARD_READ_TTL_MS: 50,
  /** Least interval between headroom writes to the shared board, unless the headroom halved. */
  RATE_BOARD_HEADROOM_WRITE_MS: 250,
  /** The least account-wide pause after a vector-store 429 that names no retry-after, and the least wait a throttle error of a vector-store step states. */
  RATE_LIMIT_MIN_WAIT_MS: 1_000,
  /** Overflow bundles: bytes hashed per turn of the loop (KI-12). */
  BUNDLE_HASH_BYTES_PER_TURN: 1_048_576,
  /**
   * Worker pacing (context/worker-pool.ts explains it): the lateness probe's interval, a
   * probe late by more than LATE raises the pause, one within ON_TIME counts as calm, CALM
   * probes in a row halve it; the pause runs from MIN to MAX; workers pause after every
   * SLICE of work.
   */
  WORKER_PACE_PROBE_MS: 10,
  WORKER_PACE_LATE_MS: 10,
  WORKER_PACE_ON_TIME_MS: 4,
  WORKER_PACE_CALM_PROBES: 20,
  WORKER_PACE_MIN_PAUSE_MS: 2,
  WORKER_PACE_MAX_PAUSE_MS: 40,
  WORKER_PACE_SLICE_MS: 5,
  /** Young-generation size of a worker isolate (context/worker-pool.ts says why it is small). */
  WORKER_YOUNG_GENERATION_MB: 8,
  /** Tokens of the prompt's fixed headings, legend and file_search instruction (measured about 190 with o200k; rounded up). */
  PROMPT_FRAME_TOKENS: 256,
  /** `traces show --html` and the chaos report's trace pages: rows drawn at most per page (the rest are counted). */
  TRACE_PAGE_MAX_SPANS: 2_000,
} as const;

