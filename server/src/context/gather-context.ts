/**
 * State shared by the two phases of one gather (listing and reading): limits, counters, the
 * bounded skipped list, throttled progress, and the I/O wrapper that holds a limiter slot and
 * retries descriptor exhaustion.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError, isAbortError, throwIfAborted } from '../errors.ts';
import { errnoCode, isDescriptorExhaustion, reasonForWalkError } from './io-errors.ts';
import type { PathFilter } from './ignore-rules.ts';
import { gatherIoLimiter, type Limiter } from './limiter.ts';
import type { ProgressFn, SkipReason, SkippedEntry } from './types.ts';

/** Caps applied while gathering. Every field is optional in `GatherOptions.limits`. */
export interface GatherLimits {
  /** Largest file read, in bytes; larger ones are skipped as `too-large`. Default DEFAULTS.MAX_FILE_BYTES (1 MiB). */
  maxFileBytes: number;
  /** Bytes of content kept in total; files past it are skipped as `total-size-cap`. Default DEFAULTS.MAX_TOTAL_BYTES (100 MiB). */
  maxTotalBytes: number;
  /** Files listed at most; the walk stops there (`file-count-cap`). Default DEFAULTS.MAX_FILES (50,000). */
  maxFiles: number;
  /** Read files whose names mark them as secrets (`.env`, `*.pem`…). Default false. */
  includeSecrets: boolean;
}

export interface GatherStats {
  /** Files gathered. */
  files: number;
  /** Bytes of content gathered. */
  totalBytes: number;
  /** Directories listed. */
  directories: number;
  /** Files and directories left out by `.gitignore` rules (counted, not listed). */
  gitignored: number;
  /** Files left out because no `include` pattern matched them (counted, not listed: they can be most of a tree). */
  notIncluded: number;
  /** Entries skipped, including those past the list bound. */
  skipped: number;
  /** Skipped entries counted but not listed, past DEFAULTS.CONTEXT_SKIPPED_LIST_MAX (1,000). */
  skippedNotListed: number;
  /** Operations retried after EMFILE/ENFILE. */
  emfileRetries: number;
  /** Reader-thread jobs that could not run and were read on the event loop instead. */
  readerFallbacks: number;
  /** True when the file-count cap stopped the walk early. */
  truncated: boolean;
  elapsedMs: number;
}

/** A file found by the walk, not read yet. */
export interface Candidate { abs: string; rel: string; priority: boolean }

const PROGRESS_MIN_INTERVAL_MS = DEFAULTS.GATHER_PROGRESS_MIN_INTERVAL_MS;

export class GatherContext {
  readonly signal: AbortSignal;
  readonly limits: GatherLimits;
  readonly limiter: Limiter = gatherIoLimiter;
  /** The call's `include` / `exclude` patterns, if any. */
  readonly filter: PathFilter | undefined;
  readonly skipped: SkippedEntry[] = [];
  readonly stats: GatherStats = {
    files: 0, totalBytes: 0, directories: 0, gitignored: 0, notIncluded: 0, skipped: 0, skippedNotListed: 0,
    emfileRetries: 0, readerFallbacks: 0, truncated: false, elapsedMs: 0,
  };
  readonly #onProgress: ProgressFn | undefined;
  #lastProgress = 0;

  constructor(signal: AbortSignal, limits: Partial<GatherLimits> | undefined, onProgress: ProgressFn | undefined, filter?: PathFilter) {
    this.signal = signal;
    this.limits = validateLimits(limits);
    this.#onProgress = onProgress;
    this.filter = filter;
  }

  /**
   * Runs one file-system operation holding a limiter slot. EMFILE/ENFILE (descriptors
   * exhausted by someone else) is retried GATHER_EMFILE_MAX_RETRIES (5) times with backoff from
   * GATHER_EMFILE_BASE_DELAY_MS (20 ms), the slot released while waiting; then the error goes
   * to the caller.
   */
  async io<T>(fn: () => Promise<T>): Promise<T> {
    const signal = this.signal;
    for (let attempt = 0; ; attempt++) {
      await this.limiter.acquire(signal);
      let err: unknown;
      try {
        return await fn();
      } catch (e) {
        err = e;
      } finally {
        this.limiter.release();
      }
      if (!isDescriptorExhaustion(errnoCode(err)) || attempt >= DEFAULTS.GATHER_EMFILE_MAX_RETRIES) throw err;
      this.stats.emfileRetries++;
      try {
        await sleep(DEFAULTS.GATHER_EMFILE_BASE_DELAY_MS * 2 ** attempt, undefined, { signal });
      } catch {
        throwIfAborted(signal);
      }
    }
  }

  /** Records a skipped entry (listed up to CONTEXT_SKIPPED_LIST_MAX, counted always). Returns undefined for `return ctx.skip(...)`. */
  skip(path: string, reason: SkipReason): undefined {
    this.stats.skipped++;
    if (this.skipped.length < DEFAULTS.CONTEXT_SKIPPED_LIST_MAX) this.skipped.push({ path, reason });
    else this.stats.skippedNotListed++;
    return undefined;
  }

  /** Maps an I/O error on `path` to a skip reason; aborts and non-I/O errors propagate. */
  skipForError(path: string, err: unknown, toReason: (code: string) => SkipReason = reasonForWalkError): undefined {
    if (isAbortError(err)) throw err;
    throwIfAborted(this.signal);
    const code = errnoCode(err);
    if (code === undefined) throw err;
    return this.skip(path, toReason(code));
  }

  /** Reports progress at most every PROGRESS_MIN_INTERVAL_MS (100 ms) unless `force`; a throwing callback is ignored. */
  progress(done: number, total: number, message: string, force = false): void {
    const cb = this.#onProgress;
    if (!cb) return;
    const now = performance.now();
    if (!force && done !== 0 && now - this.#lastProgress < PROGRESS_MIN_INTERVAL_MS) return;
    this.#lastProgress = now;
    try {
      cb(done, total, message);
    } catch {
      // A failing progress sink must not fail the gather.
    }
  }
}

function validateLimits(l: Partial<GatherLimits> | undefined): GatherLimits {
  const out: GatherLimits = {
    maxFileBytes: l?.maxFileBytes ?? DEFAULTS.MAX_FILE_BYTES,
    maxTotalBytes: l?.maxTotalBytes ?? DEFAULTS.MAX_TOTAL_BYTES,
    maxFiles: l?.maxFiles ?? DEFAULTS.MAX_FILES,
    includeSecrets: l?.includeSecrets ?? false,
  };
  for (const key of ['maxFileBytes', 'maxTotalBytes', 'maxFiles'] as const) {
    const v = out[key];
    if (!Number.isInteger(v) || v < 0) {
      throw new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to gather context: limits.${key} must be a non-negative integer, got ${String(v)}.`, { details: { option: `limits.${key}` } });
    }
  }
  if (typeof out.includeSecrets !== 'boolean') {
    throw new SbError(ErrorCode.INVALID_ARGUMENT, 'Failed to gather context: limits.includeSecrets must be true or false.', { details: { option: 'limits.includeSecrets' } });
  }
  for (const key of Object.keys(l ?? {})) {
    if (!(key in out)) {
      throw new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to gather context: unknown limit ${JSON.stringify(key)}. Accepted: maxFileBytes, maxTotalBytes, maxFiles, includeSecrets.`, { details: { option: `limits.${key}` } });
    }
  }
  return out;
}
