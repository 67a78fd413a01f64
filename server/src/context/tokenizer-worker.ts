/**
 * Worker-thread entry of the context text pool: counts o200k tokens and hashes texts off the
 * event loop. The o200k tables take about a quarter of a second to load, so they are loaded
 * here, lazily, and never on the main thread.
 */
import { createHash } from 'node:crypto';
import { serveJobs } from './worker-protocol.ts';

/**
 * A text job. Each item is either a string, or a number: the length of the next slice of
 * `blob`, which holds UTF-8 bytes back to back (transferred from the main thread, not copied).
 */
export interface TextJob {
  items: Array<string | number>;
  blob?: ArrayBuffer;
  /** Count o200k tokens of each item. */
  count: boolean;
  /** sha256 (hex) of each item's text as UTF-8. */
  hash: boolean;
}

export interface TextJobResult {
  tokens?: number[];
  sha256?: string[];
}

type Counter = (text: string) => number;

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

// Same decoding as the main thread's (BOM dropped, invalid bytes as U+FFFD), so counts and
// hashes describe exactly the text a prompt would carry.
const decoder = new TextDecoder('utf-8');

serveJobs<TextJob, TextJobResult>(async (job, ctx) => {
  const count = job.count ? await loadCounter() : undefined;
  const tokens: number[] | undefined = job.count ? [] : undefined;
  const sha256: string[] | undefined = job.hash ? [] : undefined;
  const blob = job.blob ? new Uint8Array(job.blob) : undefined;
  let at = 0;
  for (const item of job.items) {
    if (ctx.pace()) break;
    let text: string;
    if (typeof item === 'string') {
      text = item;
    } else {
      text = decoder.decode(blob!.subarray(at, at + item));
      at += item;
    }
    if (tokens) tokens.push(countText(text, count!));
    if (sha256) sha256.push(createHash('sha256').update(text, 'utf8').digest('hex'));
  }
  return { result: { tokens, sha256 } };
});
