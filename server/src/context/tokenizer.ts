/**
 * Token counting and content hashing for context budgeting.
 *
 * OpenAI models ('o200k'): exact counts with gpt-tokenizer's o200k_base encoding, always on
 * the worker pool. Even a small input is not counted inline, because loading the o200k tables
 * blocks the loading thread for about 250 ms (measured on this 2-core machine), which is
 * five times the event-loop budget.
 *
 * xAI and Gemini ('estimate'): their tokenizers are not available offline, so the count is
 * ceil(UTF-8 bytes / ESTIMATE_BYTES_PER_TOKEN). Calibration: 5,605 source files (JS, TS, JSON,
 * Markdown, YAML, C headers; 200 B–300 KB each) were counted with o200k. Bytes per o200k token:
 * 3.76 over the whole corpus, per-file median 4.08, 10th percentile 3.09, 5th percentile 2.35
 * (dense JSON and declaration files are the low end). The factor 3.0 sits at about the 10th
 * percentile: it over-counts o200k for nine files in ten and by about 25 % over a whole
 * project, a margin for those providers' tokenizers differing from o200k. Under-counting is the
 * costly direction (the request is rejected), over-counting only moves files to overflow.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError, throwIfAborted } from '../errors.ts';
import { LazyWorkerPool, type WorkerPoolStats } from './worker-pool.ts';
import type { TextJob, TextJobResult } from './tokenizer-worker.ts';
import { decodeText } from './sniff.ts';
import type { TokenizerFamily } from './types.ts';

/** UTF-8 bytes per token assumed for the 'estimate' family (see the calibration above). */
export const ESTIMATE_BYTES_PER_TOKEN = 3.0;

const INLINE_SLICE_BYTES = DEFAULTS.TOKENIZE_INLINE_SLICE_BYTES;

// One thread per spare core, capped: on this 2-core machine a single worker leaves a whole
// core to the event loop, which is what keeps ping latency flat while a big tree is counted.
const pool = new LazyWorkerPool<TextJob, TextJobResult>(() => ({
  url: new URL('./tokenizer-worker.ts', import.meta.url),
  size: Math.max(1, Math.min(DEFAULTS.CONTEXT_WORKERS_MAX, availableParallelism() - 1)),
  queueMax: DEFAULTS.CONTEXT_WORKER_QUEUE_MAX,
  purpose: 'process context text',
}));

/** Terminates the text pool's threads; pending jobs fail with SB_ERR_SHUTTING_DOWN. A later call creates a fresh pool. */
export async function closeTextPool(): Promise<void> {
  await pool.close();
}

/** Text pool figures, or undefined before its first use. */
export function textPoolStats(): WorkerPoolStats | undefined {
  return pool.stats();
}

/** A text, or its UTF-8 bytes (decoded off the event loop, BOM dropped). */
export type TextInput = string | Uint8Array;

/** Estimated tokens of one text for the 'estimate' family: ceil(UTF-8 bytes / 3.0). */
export function estimateTokens(text: TextInput): number {
  return Math.ceil(byteLength(text) / ESTIMATE_BYTES_PER_TOKEN);
}

function byteLength(t: TextInput): number {
  return typeof t === 'string' ? Buffer.byteLength(t, 'utf8') : t.byteLength;
}

/** Size used to batch inputs: characters of a string, bytes of a byte input. */
function sizeOf(t: TextInput): number {
  return typeof t === 'string' ? t.length : t.byteLength;
}

/**
 * Counts the tokens of each text: exact o200k counts (worker pool) or the calibrated
 * estimate (inline, yielding every 4 MiB).
 * @returns one count per text, in order.
 * @example const [n] = await countTokens(['hello world'], 'o200k', signal); // 2
 */
export async function countTokens(texts: readonly TextInput[], family: TokenizerFamily, signal: AbortSignal): Promise<number[]> {
  assertFamily(family);
  if (family === 'estimate') return estimateAll(texts, signal);
  const r = await analyzeTexts(texts, { count: true, hash: false }, signal);
  return r.tokens!;
}

/**
 * sha256 (hex) of each text as UTF-8 (byte inputs are decoded first, so a BOM or invalid
 * bytes hash as the text a prompt would carry). Inputs under CONTEXT_INLINE_HASH_MAX_BYTES
 * (64 KiB) in total are hashed inline; larger ones on the worker pool.
 */
export async function hashContent(texts: readonly TextInput[], signal: AbortSignal): Promise<string[]> {
  throwIfAborted(signal);
  let units = 0;
  for (const t of texts) units += sizeOf(t);
  // 3 bytes per UTF-16 unit bounds a string's UTF-8 size from above.
  if (units * 3 < DEFAULTS.CONTEXT_INLINE_HASH_MAX_BYTES) {
    return texts.map((t) => createHash('sha256').update(typeof t === 'string' ? t : decodeText(t), 'utf8').digest('hex'));
  }
  const r = await analyzeTexts(texts, { count: false, hash: true }, signal);
  return r.sha256!;
}

/**
 * Counts o200k tokens and/or hashes texts on the worker pool in one pass (each text crosses
 * the thread boundary once). Texts are batched up to CONTEXT_WORKER_BATCH_MAX_CHARS
 * (512 Ki characters) per job, which bounds both the copy made by postMessage on the event
 * loop and how long a cancelled job keeps its worker; a call keeps at most pool size + 1
 * jobs in flight so concurrent calls share the pool fairly.
 */
export async function analyzeTexts(
  texts: readonly TextInput[],
  what: { count: boolean; hash: boolean },
  signal: AbortSignal,
  onProgress?: (doneTexts: number, totalTexts: number) => void,
): Promise<{ tokens?: number[]; sha256?: string[] }> {
  throwIfAborted(signal);
  const tokens = what.count ? new Array<number>(texts.length) : undefined;
  const sha256 = what.hash ? new Array<string>(texts.length) : undefined;
  if (texts.length === 0 || (!what.count && !what.hash)) return { tokens, sha256 };

  const batches: Array<{ start: number; end: number }> = [];
  for (let i = 0; i < texts.length; ) {
    let size = 0;
    const start = i;
    while (i < texts.length && (i === start || size + sizeOf(texts[i]!) <= DEFAULTS.CONTEXT_WORKER_BATCH_MAX_CHARS)) {
      size += sizeOf(texts[i]!);
      i++;
    }
    batches.push({ start, end: i });
  }

  const p = pool.get();
  const inFlightMax = p.stats().size + 1;
  // A sibling batch failing must stop this call's other batches too.
  const local = new AbortController();
  const both = AbortSignal.any([signal, local.signal]);
  let next = 0;
  let done = 0;
  const lane = async (): Promise<void> => {
    while (next < batches.length) {
      const b = batches[next++]!;
      let r: TextJobResult;
      try {
        const packed = packBatch(texts, b.start, b.end);
        r = await p.run({ ...packed, count: what.count, hash: what.hash }, both, packed.blob ? [packed.blob] : []);
      } catch (err) {
        local.abort(err);
        throw err;
      }
      for (let i = b.start; i < b.end; i++) {
        if (tokens) tokens[i] = r.tokens![i - b.start]!;
        if (sha256) sha256[i] = r.sha256![i - b.start]!;
      }
      done += b.end - b.start;
      onProgress?.(done, texts.length);
    }
  };
  const lanes = Array.from({ length: Math.min(inFlightMax, batches.length) }, lane);
  const settled = await Promise.allSettled(lanes);
  throwIfAborted(signal);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return { tokens, sha256 };
}

/** Strings go as they are; byte inputs are copied back to back into one block that is transferred. */
function packBatch(texts: readonly TextInput[], start: number, end: number): { items: Array<string | number>; blob?: ArrayBuffer } {
  const items: Array<string | number> = [];
  let bytes = 0;
  for (let i = start; i < end; i++) {
    const t = texts[i]!;
    if (typeof t === 'string') items.push(t);
    else { items.push(t.byteLength); bytes += t.byteLength; }
  }
  if (bytes === 0) return { items };
  const blob = new Uint8Array(bytes);
  let at = 0;
  for (let i = start; i < end; i++) {
    const t = texts[i]!;
    if (typeof t !== 'string') { blob.set(t, at); at += t.byteLength; }
  }
  return { items, blob: blob.buffer };
}

async function estimateAll(texts: readonly TextInput[], signal: AbortSignal): Promise<number[]> {
  throwIfAborted(signal);
  const out = new Array<number>(texts.length);
  let sinceYield = 0;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i]!;
    out[i] = estimateTokens(t);
    sinceYield += sizeOf(t);
    if (sinceYield >= INLINE_SLICE_BYTES) {
      sinceYield = 0;
      await yieldToLoop(undefined, { signal }).catch(() => throwIfAborted(signal));
    }
  }
  return out;
}

function assertFamily(family: unknown): asserts family is TokenizerFamily {
  if (family !== 'o200k' && family !== 'estimate') {
    throw new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to count tokens: tokenizer family ${JSON.stringify(family)} is not known. Accepted: 'o200k', 'estimate'.`, { details: { option: 'tokenizerFamily' } });
  }
}
