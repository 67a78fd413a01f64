/**
 * Bulk file reading on the reader thread (see `file-reader-worker.ts`): the main-thread side.
 * Each job reads a slice of the listed files (at most READ_JOB_MAX_FILES files or about
 * READ_JOB_BATCH_BYTES of content) and sends their bytes back as one transferred block.
 */
import { DEFAULTS } from '../config/defaults.ts';
import { WorkerPool, type WorkerPoolStats } from './worker-pool.ts';
import { gatherIoLimiter } from './limiter.ts';
import type { ReadJob, ReadJobResult } from './file-reader-worker.ts';
import type { SkipReason } from './types.ts';

/** Below this many files the gatherer reads on the event loop: a thread round trip is not worth it. */
export const READ_IN_WORKER_MIN_FILES = 64;
/** Files per reader job (bounds the message and how stale the progress gets). */
export const READ_JOB_MAX_FILES = 512;
/** Content bytes after which a reader job returns. */
const READ_JOB_BATCH_BYTES = 1_048_576;

let pool: WorkerPool<ReadJob, ReadJobResult> | undefined;

function getPool(): WorkerPool<ReadJob, ReadJobResult> {
  // One thread: reading is bound by the disk, not the CPU, and one thread holds one descriptor.
  pool ??= new WorkerPool<ReadJob, ReadJobResult>({
    url: new URL('./file-reader-worker.ts', import.meta.url),
    size: 1,
    queueMax: DEFAULTS.CONTEXT_WORKER_QUEUE_MAX,
    purpose: 'read context files',
  });
  return pool;
}

/** Terminates the reader thread; a later read starts a fresh one. */
export async function closeReaderPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.close();
}

export function readerPoolStats(): WorkerPoolStats | undefined {
  return pool?.stats();
}

export type BatchOutcome = { bytes: Uint8Array; size: number; mtimeMs: number } | { reason: SkipReason };

/**
 * Reads a prefix of `paths` on the reader thread: returns one outcome per file read, in
 * order (fewer than `paths` when the job's byte batch filled up). The job holds a slot of the
 * gather limiter while it runs, so its descriptor counts against GATHER_CONCURRENCY (KI-08).
 * @throws SbError SB_ERR_INTERNAL when the thread cannot start or dies (the caller falls back
 *   to reading on the event loop), SB_ERR_CANCELLED / DEADLINE_EXCEEDED on abort.
 */
export async function readBatchInWorker(
  paths: string[],
  limits: { maxFileBytes: number; budgetBytes: number },
  signal: AbortSignal,
): Promise<{ outcomes: BatchOutcome[]; emfileRetries: number }> {
  const job: ReadJob = {
    paths,
    maxFileBytes: limits.maxFileBytes,
    budgetBytes: Math.max(0, limits.budgetBytes),
    batchBytes: READ_JOB_BATCH_BYTES,
    emfileMaxRetries: DEFAULTS.GATHER_EMFILE_MAX_RETRIES,
    emfileBaseDelayMs: DEFAULTS.GATHER_EMFILE_BASE_DELAY_MS,
  };
  const r = await gatherIoLimiter.run(() => getPool().run(job, signal), signal);
  let at = 0;
  const outcomes = r.outcomes.map((o): BatchOutcome => {
    if ('reason' in o) return o;
    const bytes = new Uint8Array(r.blob, at, o.size);
    at += o.size;
    return { bytes, size: o.size, mtimeMs: o.mtimeMs };
  });
  return { outcomes, emfileRetries: r.emfileRetries };
}
