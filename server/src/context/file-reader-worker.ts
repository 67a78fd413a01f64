/**
 * Worker-thread entry that reads listed files with synchronous calls. Blocking here costs the
 * event loop nothing and uses none of libuv's pool threads (KI-12), and one thread holds one
 * descriptor at a time (KI-08). Reading 20,000 files on the event loop through the pool cost
 * about a second of main-thread CPU (four pool round trips per file); here it costs the main
 * thread one message per batch.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { OPEN_FLAGS, errnoCode, isDescriptorExhaustion, reasonForReadError } from './io-errors.ts';
import { SNIFF_BYTES, looksBinary } from './sniff.ts';
import { serveJobs, type JobContext } from './worker-protocol.ts';
import type { SkipReason } from './types.ts';

export interface ReadJob {
  paths: string[];
  /** Files larger than this are skipped as too-large. */
  maxFileBytes: number;
  /** Bytes this job may add before files are skipped as total-size-cap. */
  budgetBytes: number;
  /** The job returns once it has read this many bytes; the rest of `paths` is left for the next job. */
  batchBytes: number;
  /** EMFILE/ENFILE retries per file and the first backoff delay. */
  emfileMaxRetries: number;
  emfileBaseDelayMs: number;
}

/** One file's outcome: its size and mtime (content in the blob, in order), or why it was skipped. */
export type ReadOutcome = { size: number; mtimeMs: number } | { reason: SkipReason };

export interface ReadJobResult {
  /** Outcomes of a prefix of `paths`, in order. */
  outcomes: ReadOutcome[];
  /** Contents of the files read, back to back. */
  blob: ArrayBuffer;
  emfileRetries: number;
}

let scratch = new Uint8Array(0);
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

serveJobs<ReadJob, ReadJobResult>((job, ctx) => {
  const need = job.batchBytes + job.maxFileBytes;
  if (scratch.byteLength < need) scratch = new Uint8Array(need);
  const outcomes: ReadOutcome[] = [];
  let used = 0;
  let retries = 0;
  for (const path of job.paths) {
    if (ctx.pace() || used >= job.batchBytes) break;
    const r = readOne(path, job, job.budgetBytes - used, used, ctx, () => retries++);
    outcomes.push(r);
    if ('size' in r) used += r.size;
  }
  // An exact-size copy: the scratch block stays here for the next job.
  const blob = scratch.slice(0, used).buffer;
  return { result: { outcomes, blob, emfileRetries: retries }, transfer: [blob] };
});

function readOne(path: string, job: ReadJob, budget: number, at: number, ctx: JobContext, onRetry: () => void): ReadOutcome {
  let fd: number;
  try {
    fd = openWithRetry(path, job, ctx, onRetry);
  } catch (err) {
    return { reason: reasonForReadError(errnoCode(err) ?? 'EIO') };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { reason: 'special-file' };
    if (st.size > job.maxFileBytes) return { reason: 'too-large' };
    if (st.size > budget) return { reason: 'total-size-cap' };
    const head = Math.min(SNIFF_BYTES, st.size);
    let filled = readInto(fd, at, head);
    if (looksBinary(scratch.subarray(at, at + filled), filled < st.size)) return { reason: 'binary' };
    if (filled === head && st.size > head) {
      filled = head + readInto(fd, at + head, st.size - head);
      if (scratch.subarray(at + head, at + filled).indexOf(0) !== -1) return { reason: 'binary' };
    }
    return { size: filled, mtimeMs: st.mtimeMs };
  } catch (err) {
    return { reason: reasonForReadError(errnoCode(err) ?? 'EIO') };
  } finally {
    closeSync(fd);
  }
}

/** Reads up to `length` bytes at file offset 0.. into scratch[at...]; stops early at end of file (a file may shrink after fstat). */
function readInto(fd: number, at: number, length: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, scratch, at + got, length - got, null);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function openWithRetry(path: string, job: ReadJob, ctx: JobContext, onRetry: () => void): number {
  for (let attempt = 0; ; attempt++) {
    try {
      return openSync(path, OPEN_FLAGS);
    } catch (err) {
      if (!isDescriptorExhaustion(errnoCode(err)) || attempt >= job.emfileMaxRetries || ctx.cancelled()) throw err;
      onRetry();
      // Sleeps this thread only; the event loop and the pool keep running.
      Atomics.wait(sleepCell, 0, 0, job.emfileBaseDelayMs * 2 ** attempt);
    }
  }
}
