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
import { TextWorkerPool, type TextJobResult, type WorkerPoolStats } from './worker-pool.ts';
import type { TokenizerFamily } from './types.ts';

/** UTF-8 bytes per token assumed for the 'estimate' family (see the calibration above). */
export const ESTIMATE_BYTES_PER_TOKEN = 3.0;

/** Bytes of text measured between two yields to the event loop in the inline paths. */
const INLINE_SLICE_BYTES = 4 * 1_048_576;

let pool: TextWorkerPool | undefined;

function getPool(): TextWorkerPool {
  // One thread per spare core, capped: on this 2-core machine a single worker leaves a whole
  // core to the event loop, which is what keeps ping latency flat while a big tree is counted.
  pool ??= new TextWorkerPool({
    url: new URL('./tokenizer-worker.ts', import.meta.url),
    size: Math.max(1, Math.min(DEFAULTS.CONTEXT_WORKERS_MAX, availableParallelism() - 1)),
    queueMax: DEFAULTS.CONTEXT_WORKER_QUEUE_MAX,
  });
  return pool;
}

/**
 * Terminates the context worker threads (for shutdown). Pending jobs fail with
 * SB_ERR_SHUTTING_DOWN. A later call creates a fresh pool.
 */
export async function closeContextWorkers(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.close();
}

/** Pool figures for diagnostics (KI-20); zeros before the pool is first used. */
export function contextWorkerStats(): WorkerPoolStats {
  return pool?.stats() ?? {
    size: 0, workers: 0, busy: 0, queued: 0, queueMax: DEFAULTS.CONTEXT_WORKER_QUEUE_MAX, waitingForRoom: 0,
    queueFullWaits: 0, completed: 0, cancelled: 0, failed: 0, crashed: 0,
  };
}

/** Estimated tokens of one text for the 'estimate' family: ceil(UTF-8 bytes / 3.0). */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / ESTIMATE_BYTES_PER_TOKEN);
}

/**
 * Counts the tokens of each text: exact o200k counts (worker pool) or the calibrated
 * estimate (inline, yielding every 4 MiB).
 * @returns one count per text, in order.
 * @example const [n] = await countTokens(['hello world'], 'o200k', signal); // 2
 */
export async function countTokens(texts: readonly string[], family: TokenizerFamily, signal: AbortSignal): Promise<number[]> {
  assertFamily(family);
  if (family === 'estimate') return estimateAll(texts, signal);
  const r = await analyzeTexts(texts, { count: true, hash: false }, signal);
  return r.tokens!;
}

/**
 * sha256 (hex) of each text as UTF-8. Inputs under CONTEXT_INLINE_HASH_MAX_BYTES (64 KiB) in
 * total are hashed inline; larger ones on the worker pool.
 */
export async function hashContent(texts: readonly string[], signal: AbortSignal): Promise<string[]> {
  throwIfAborted(signal);
  let chars = 0;
  for (const t of texts) chars += t.length;
  // Characters bound bytes from below; 3 bytes per UTF-16 unit bounds them from above.
  if (chars * 3 < DEFAULTS.CONTEXT_INLINE_HASH_MAX_BYTES) {
    return texts.map((t) => createHash('sha256').update(t, 'utf8').digest('hex'));
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
  texts: readonly string[],
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
    while (i < texts.length && (i === start || size + texts[i]!.length <= DEFAULTS.CONTEXT_WORKER_BATCH_MAX_CHARS)) {
      size += texts[i]!.length;
      i++;
    }
    batches.push({ start, end: i });
  }

  const p = getPool();
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
        r = await p.run({ texts: texts.slice(b.start, b.end) as string[], count: what.count, hash: what.hash }, both);
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

async function estimateAll(texts: readonly string[], signal: AbortSignal): Promise<number[]> {
  throwIfAborted(signal);
  const out = new Array<number>(texts.length);
  let sinceYield = 0;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i]!;
    out[i] = estimateTokens(t);
    sinceYield += t.length;
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
