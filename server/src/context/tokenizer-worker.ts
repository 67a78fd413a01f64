/**
 * Worker-thread entry of the context text pool: counts o200k tokens and hashes texts off the
 * event loop. The o200k tables take about a quarter of a second to load, so they are loaded
 * here, lazily, and never on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import type { WorkerReply, WorkerRequest } from './worker-pool.ts';

type Counter = (text: string) => number;

const cancel = new Int32Array(workerData.cancel as SharedArrayBuffer);
let counter: Promise<Counter> | undefined;

function loadCounter(): Promise<Counter> {
  counter ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => {
    // Text from files is data, not control: "<|endoftext|>" in a file is counted as the
    // plain characters it is, as the provider's API counts it in user content.
    const opts = { disallowedSpecial: new Set<string>() };
    return (text: string) => m.countTokens(text, opts);
  });
  return counter;
}

/**
 * Byte-pair encoding of a single pre-tokenised piece is quadratic in its length in
 * gpt-tokenizer: 70,000 'x' in a row take 2.5 s, 70,000 '=' or spaces 3 s (measured here).
 * Such runs (base64 of zeros, ASCII rulers, padding) would stall a worker for minutes on a
 * 1 MiB file. Runs of LONG_RUN_CHARS or more letters, punctuation or whitespace are therefore
 * counted in slices of that size; the count can differ from the exact one by about one token
 * per slice, and only inside such runs. Everything else is counted exactly.
 */
const LONG_RUN_CHARS = 512;
// Each alternative may only start where its run starts (the lookbehinds), which keeps the scan
// linear: without them every position inside a 500-letter run would be retried to its end.
const LONG_RUN = /(?<![\p{L}\p{M}])[\p{L}\p{M}]{512,}|(?<![^\s\p{L}\p{N}])[^\s\p{L}\p{N}]{512,}|(?<!\s)\s{512,}/gu;

function countText(text: string, count: Counter): number {
  if (text.length < LONG_RUN_CHARS) return text.length === 0 ? 0 : count(text);
  LONG_RUN.lastIndex = 0;
  let m = LONG_RUN.exec(text);
  if (!m) return count(text);
  let total = 0;
  let at = 0;
  while (m) {
    if (m.index > at) total += count(text.slice(at, m.index));
    const end = m.index + m[0].length;
    for (let i = m.index; i < end; ) {
      let j = Math.min(i + LONG_RUN_CHARS, end);
      const c = text.charCodeAt(j - 1);
      if (j < end && c >= 0xd800 && c <= 0xdbff) j++; // keep surrogate pairs whole
      total += count(text.slice(i, j));
      i = j;
    }
    at = end;
    m = LONG_RUN.exec(text);
  }
  if (at < text.length) total += count(text.slice(at));
  return total;
}

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  const count = req.count ? await loadCounter() : undefined;
  const tokens: number[] | undefined = req.count ? [] : undefined;
  const sha256: string[] | undefined = req.hash ? [] : undefined;
  for (const text of req.texts) {
    if (Atomics.load(cancel, 0) === req.id) return { id: req.id, ok: false, cancelled: true };
    if (tokens) tokens.push(countText(text, count!));
    if (sha256) sha256.push(createHash('sha256').update(text, 'utf8').digest('hex'));
  }
  return { id: req.id, ok: true, tokens, sha256 };
}

// Jobs arrive one at a time per worker; the chain only guards against overlap while the
// tokenizer module is still loading.
let chain: Promise<void> = Promise.resolve();
parentPort!.on('message', (req: WorkerRequest) => {
  chain = chain.then(async () => {
    let reply: WorkerReply;
    try {
      reply = await handle(req);
    } catch (err) {
      reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    parentPort!.postMessage(reply);
  });
});
