/**
 * Reading: opens each listed file once, sniffs it for binary content (see `sniff.ts`) and
 * keeps its bytes, within the per-file and total byte caps.
 *
 * Large sets are read on the reader thread (`file-reader-worker.ts`): on the event loop each
 * file costs four libuv round trips (open, fstat, read, close), about a second of main-thread
 * CPU for 20,000 files, and that CPU is what delays timers on a loaded 2-core machine. Small
 * sets (under READ_IN_WORKER_MIN_FILES) are read on the event loop through the gather limiter,
 * which is also the fallback when the reader thread cannot run.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, isSbError, throwIfAborted } from '../errors.ts';
import { makeFile } from './content.ts';
import type { Candidate, GatherContext } from './gather-context.ts';
import { OPEN_FLAGS, reasonForReadError } from './io-errors.ts';
import { gatherIoLimiter } from './limiter.ts';
import { SNIFF_BYTES, looksBinary } from './sniff.ts';
import { LazyWorkerPool, type WorkerPoolStats } from './worker-pool.ts';
import type { ReadJob, ReadJobResult } from './file-reader-worker.ts';
import type { GatheredFile, SkipReason } from './types.ts';
import { defectOn } from '../config/test-defects.ts';
import { logger } from '../logging/logger.ts';

/** Below this many files the gatherer reads on the event loop: a thread round trip is not worth it. */
const READ_IN_WORKER_MIN_FILES = 64;
const READ_JOB_MAX_FILES = DEFAULTS.READ_JOB_MAX_FILES;
const READ_JOB_BATCH_BYTES = DEFAULTS.READ_JOB_BATCH_BYTES;

/**
 * Reads the candidates: priority first (so the byte cap cannot starve them), then by path.
 * Returns the files read, in that order; everything else becomes a skipped entry in `ctx`.
 */
export async function readCandidates(ctx: GatherContext, candidates: Candidate[]): Promise<GatheredFile[]> {
  const list = sortCandidates(candidates);
  const total = list.length;
  const out: Array<GatheredFile | undefined> = new Array(total);
  ctx.progress(0, total, `Reading ${total} files`, true);
  if (defectOn('unbounded-gather')) {
    // Test-only defect (KI-08, KI-12): every file opened at once, past the limiter and the reader thread.
    await Promise.all(list.map(async (c, i) => { out[i] = traceRead(c, await readOne(ctx, c, false)); }));
  } else if (total >= READ_IN_WORKER_MIN_FILES) await readInWorker(ctx, list, out);
  else await readOnLoop(ctx, list, 0, total, out);
  ctx.progress(total, total, `Read ${total} files`, true);
  return out.filter((f): f is GatheredFile => f !== undefined);
}

/**
 * At `trace`, the files read, as they are read: one record per file on the event-loop
 * path, one per reader job (its file list) on the thread path, so a 2,000-file context
 * costs four records rather than 2,000 synchronous writes in one turn of the loop. It is
 * the per-file debug output a user turns on to see where gathering stands (and what KI-10
 * and KI-12 load the log path with).
 */
function traceRead(c: Candidate, f: GatheredFile | undefined): GatheredFile | undefined {
  if (f) {
    const log = logger();
    if (log.isLevelEnabled('trace')) log.trace({ component: 'context', file: c.rel, bytes: f.size }, 'read context file');
  }
  return f;
}

function traceBatch(files: Array<GatheredFile | undefined>): void {
  const log = logger();
  if (!log.isLevelEnabled('trace')) return;
  const read = files.filter((f): f is GatheredFile => f !== undefined);
  if (read.length === 0) return;
  const bytes = read.reduce((n, f) => n + f.size, 0);
  log.trace({ component: 'context', files: read.map((f) => f.relPath), bytes }, `read ${read.length} context files`);
}

/** Priority first, then by path (about 10 ms for 20,000 files on the event loop). */
function sortCandidates(list: Candidate[]): Candidate[] {
  return list.sort((a, b) => (a.priority === b.priority ? (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0) : a.priority ? -1 : 1));
}

/**
 * Reads on the reader thread, one job at a time, so the total-bytes cap is applied in list
 * order. If the thread cannot run (it failed to start, say, with descriptors exhausted), the
 * job's files are read on the event loop instead.
 */
async function readInWorker(ctx: GatherContext, list: Candidate[], out: Array<GatheredFile | undefined>): Promise<void> {
  const { signal, limits, stats } = ctx;
  for (let i = 0; i < list.length; ) {
    throwIfAborted(signal);
    const slice = list.slice(i, i + READ_JOB_MAX_FILES);
    let batch: Awaited<ReturnType<typeof readBatchInWorker>> | undefined;
    try {
      batch = await readBatchInWorker(slice.map((c) => c.abs), { maxFileBytes: limits.maxFileBytes, budgetBytes: limits.maxTotalBytes - stats.totalBytes }, signal);
    } catch (err) {
      throwIfAborted(signal);
      if (!isSbError(err, ErrorCode.INTERNAL)) throw err;
    }
    if (!batch || batch.outcomes.length === 0) {
      stats.readerFallbacks++;
      await readOnLoop(ctx, list, i, i + slice.length, out);
      i += slice.length;
      continue;
    }
    stats.emfileRetries += batch.emfileRetries;
    batch.outcomes.forEach((o, k) => {
      const c = slice[k]!;
      if ('reason' in o) {
        ctx.skip(c.rel, o.reason);
        return;
      }
      stats.totalBytes += o.size;
      out[i + k] = makeFile({ absPath: c.abs, relPath: c.rel, size: o.size, mtimeMs: o.mtimeMs, priority: c.priority }, o.bytes);
    });
    traceBatch(out.slice(i, i + batch.outcomes.length));
    i += batch.outcomes.length;
    ctx.progress(i, list.length, `Reading files: ${i}/${list.length}`);
  }
}

/**
 * Reads list[from, to) on the event loop through the limiter, one file at a time in list
 * order, as the reader thread does: the total-bytes cap then always goes to the earlier
 * (priority) files first, whatever order concurrent reads would finish in.
 */
async function readOnLoop(ctx: GatherContext, list: Candidate[], from: number, to: number, out: Array<GatheredFile | undefined>): Promise<void> {
  for (let i = from; i < to; i++) {
    out[i] = traceRead(list[i]!, await readOne(ctx, list[i]!));
    ctx.progress(i + 1, list.length, `Reading files: ${i + 1}/${list.length}`);
  }
}

async function readOne(ctx: GatherContext, c: Candidate, bounded = true): Promise<GatheredFile | undefined> {
  const { signal, limits, stats } = ctx;
  throwIfAborted(signal);
  const io = bounded ? <T>(fn: () => Promise<T>) => ctx.io(fn) : <T>(fn: () => Promise<T>) => fn();
  try {
    return await io(async () => {
      const fh = await open(c.abs, OPEN_FLAGS);
      try {
        throwIfAborted(signal);
        const st = await fh.stat();
        if (!st.isFile()) return ctx.skip(c.rel, 'special-file');
        if (st.size > limits.maxFileBytes) return ctx.skip(c.rel, 'too-large');
        if (stats.totalBytes + st.size > limits.maxTotalBytes) return ctx.skip(c.rel, 'total-size-cap');
        const buf = Buffer.allocUnsafe(st.size);
        const head = Math.min(SNIFF_BYTES, st.size);
        let filled = await readInto(fh, buf, 0, head, signal);
        let binary = looksBinary(buf.subarray(0, filled), filled < st.size);
        if (!binary && filled === head && st.size > head) {
          filled = await readInto(fh, buf, head, st.size, signal);
          binary = buf.subarray(head, filled).indexOf(0) !== -1;
        }
        if (binary) return ctx.skip(c.rel, 'binary');
        stats.totalBytes += filled;
        return makeFile({ absPath: c.abs, relPath: c.rel, size: filled, mtimeMs: st.mtimeMs, priority: c.priority }, buf.subarray(0, filled));
      } finally {
        await fh.close();
      }
    });
  } catch (err) {
    return ctx.skipForError(c.rel, err, reasonForReadError);
  }
}

/** Reads into `buf[from, to)` until full or end of file (a file may shrink after fstat); returns the end offset. */
async function readInto(fh: FileHandle, buf: Buffer, from: number, to: number, signal: AbortSignal): Promise<number> {
  let at = from;
  while (at < to) {
    throwIfAborted(signal);
    const { bytesRead } = await fh.read(buf, at, to - at, at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return at;
}

// ---- the reader thread ---------------------------------------------------------------------

// One thread: reading is bound by the disk, not the CPU, and one thread holds one descriptor.
const pool = new LazyWorkerPool<ReadJob, ReadJobResult>(() => ({
  url: new URL('./file-reader-worker.ts', import.meta.url),
  size: 1,
  queueMax: DEFAULTS.CONTEXT_WORKER_QUEUE_MAX,
  purpose: 'read context files',
}));

/** Terminates the reader thread; a later read starts a fresh one. */
export async function closeReaderPool(): Promise<void> {
  await pool.close();
}

/** Reader thread figures, or undefined before its first use. */
export function readerPoolStats(): WorkerPoolStats | undefined {
  return pool.stats();
}

type BatchOutcome = { bytes: Uint8Array; size: number; mtimeMs: number } | { reason: SkipReason };

/**
 * Reads a prefix of `paths` on the reader thread: one outcome per file read, in order (fewer
 * than `paths` when the job's byte batch filled up). The job holds a slot of the gather
 * limiter while it runs, so its descriptor counts against GATHER_CONCURRENCY (KI-08).
 * @throws SbError SB_ERR_INTERNAL when the thread cannot start or dies, SB_ERR_CANCELLED /
 *   DEADLINE_EXCEEDED on abort.
 */
async function readBatchInWorker(
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
  const r = await gatherIoLimiter.run(() => pool.get().run(job, signal), signal);
  let at = 0;
  const outcomes = r.outcomes.map((o): BatchOutcome => {
    if ('reason' in o) return o;
    const bytes = new Uint8Array(r.blob, at, o.size);
    at += o.size;
    return { bytes, size: o.size, mtimeMs: o.mtimeMs };
  });
  return { outcomes, emfileRetries: r.emfileRetries };
}
