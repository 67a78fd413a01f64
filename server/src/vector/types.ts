/** Public types of the vector-store manager and janitor. */
import type OpenAI from 'openai';
import type { Db } from '../state/db.ts';
import type { RateLimitBoard, ThrottleGate } from '../resilience/throttle-gate.ts';

/** A file that did not fit the prompt budget and goes to the session's vector store. */
export interface AttachFile {
  absPath: string;
  /** Project-relative path: the dedup key (with sha256) and the name the model sees. */
  relPath: string;
  size: number;
  mtimeMs: number;
  /** Hex sha256 of the content; computed (and cached by path, size, mtime) when absent. */
  sha256?: string;
  /** Content already in memory; read from `absPath` when absent. */
  text?: string;
  /** Content already in memory as UTF-8 bytes (preferred over `text`: no decode, no copy). */
  bytes?: Uint8Array;
  /** Builds the content on demand (overflow bundles); preferred over everything else. */
  load?: (signal: AbortSignal) => Promise<Buffer>;
}

export type ProgressFn = (done: number, total: number, message: string) => void;

export interface AttachRequest {
  sessionId: string;
  files: AttachFile[];
  signal: AbortSignal;
  onProgress?: ProgressFn;
  /**
   * Store rows not among `files` for which this returns true are detached from the store
   * (an overflow bundle superseded by a newer one with other members). Default: none.
   */
  supersedes?: (relPath: string) => boolean;
}

/** `attachOverflow`: like AttachResult, by project path, with the bundles that carried them. */
export interface OverflowResult extends AttachResult {
  /** Bundles (documents) in the store for this call's overflow. */
  bundles: number;
  /** Bundles uploaded by this call. */
  bundlesUploaded: number;
}

export interface AttachStats {
  /** Wall time of the whole call, ms. */
  durationMs: number;
  /** Upload requests sent, including retries. */
  uploadRequests: number;
  /** Uploads retried after a 429. */
  rateLimited: number;
  /** Attach retries of failed files (KI-19). */
  attachRetries: number;
  /** File batches created. */
  batches: number;
  /** Batches cancelled upstream because they passed their deadline. */
  batchesCancelled: number;
  /** Files uploaded by another process or call that this call waited for. */
  waitedForOthers: number;
  /** Old copies removed from the store because the file changed or disappeared. */
  replaced: number;
  /** Largest number of uploads in flight at once during this call. */
  maxConcurrentUploads: number;
}

export interface AttachResult {
  vectorStoreId: string;
  /** Every path of this call now attached and searchable (including ones attached earlier). */
  attached: string[];
  /** Paths among `attached` that needed no upload: the same content and path was already uploaded. */
  reused: string[];
  failed: Array<{ relPath: string; reason: string }>;
  /** Files uploaded by this call. */
  uploaded: number;
  stats: AttachStats;
}

export interface VectorLimits {
  uploadConcurrencyStart: number;
  uploadConcurrencyMin: number;
  uploadConcurrencyMax: number;
  /** Attempts per file, for uploads and attaches alike (KI-19). */
  uploadMaxAttempts: number;
  /** Extra attempts after a 429, each after the provider's retry-after (KI-17). */
  uploadMaxRateLimitRetries: number;
  uploadRequestTimeoutMs: number;
  uploadLeaseMs: number;
  /** Reads while hashing files that came without sha256. */
  readConcurrency: number;
  batchMaxFiles: number;
  batchConcurrency: number;
  batchPollIntervalMs: number;
  /** Budget of one batch; a batch still in progress after it is cancelled upstream. */
  batchDeadlineMs: number;
  /** How often a waiting process re-reads another's upload claim. */
  claimPollIntervalMs: number;
  /** The project's store limit, counted from the provider's list (KI-13). */
  storeLimit: number;
  /** Stores kept free below the limit (for other processes and the memory store). */
  storeReserve: number;
  storeExpiresAfterDays: number;
  storeEvictMinIdleMs: number;
  cleanupRequestTimeoutMs: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Content bytes an overflow bundle holds at most (a single larger file is a bundle of its own). */
  bundleMaxBytes: number;
  /** Content bytes before which a bundle is not cut at a path anchor (see bundles.ts). */
  bundleMinBytes: number;
}

export type VectorEvent =
  | { type: 'store_created'; storeId: string; sessionId: string }
  | { type: 'store_evicted'; storeId: string; reason: 'lru' | 'orphan' | 'expired' }
  | { type: 'throttled'; retryAfterMs: number }
  | { type: 'concurrency_changed'; from: number; to: number; reason: string }
  | { type: 'batch_cancelled'; batchId: string; reason: 'deadline' | 'aborted' }
  /** Deletes were recorded for later; wiring may call `Janitor.kick()`. */
  | { type: 'cleanup_owed'; count: number };

export interface VectorStoreManagerOptions {
  /** An SDK client created with maxRetries: 0 (retries are the manager's). */
  client: OpenAI;
  db: Db;
  /** Unique per server process; written into store metadata so ownership can be proven. */
  instanceId: string;
  serverName: 'second-brain';
  limits?: Partial<VectorLimits>;
  onEvent?: (event: VectorEvent) => void;
  /** Shares throttle knowledge with other processes on the same state dir (KI-18). */
  rateLimits?: RateLimitBoard;
  /** The provider account's throttle gate, shared with the chat calls (services.ts); without it, one of its own on `rateLimits`. */
  gate?: ThrottleGate;
  /** The server's recent event-loop delay in ms: upload concurrency backs off while it is high (see AdaptiveConcurrency). */
  loopLagMs?: () => number;
  /** A private directory large upload bodies are sent from (vector/spool.ts); without it they are sent from memory. */
  spoolDir?: string;
}

export type VectorStats = {
  /** Active stores this state dir tracks. */
  stores: number;
  /** Uploaded file objects this state dir tracks. */
  files: number;
  /** Current adaptive upload concurrency. */
  uploadConcurrency: number;
  /**
   * How many times that level changed since start, by reason: a 429, upload latency well
   * above its baseline, the server's own loop lagging, or growth while healthy.
   */
  uploadConcurrencyChanges: { increase: number; rate_limited: number; latency: number; loop_lag: number };
  /** Healthy uploads that left the level where it was, by what held it: the server's own loop lagging, or low provider headroom. */
  uploadGrowthHeld: { loop_lag: number; headroom: number };
  /** Last `x-ratelimit-remaining-requests` seen, or null. */
  headroom: number | null;
  /** Deletes still owed upstream (retried by the janitor). */
  pendingDeletes: number;
  uploadsInFlight: number;
  maxConcurrentUploads: number;
  throttledUntil: string | null;
};
