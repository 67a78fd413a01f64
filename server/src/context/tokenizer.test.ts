import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeLatency } from '../../../harness/src/reference/latency-test.ts';
import { createHash } from 'node:crypto';
import { countTokens as referenceCount } from 'gpt-tokenizer/encoding/o200k_base';
import { countTokens, estimateTokens, hashContent } from './tokenizer.ts';
import { closeContextWorkers, contextWorkerStats } from './workers.ts';
import { WorkerPool } from './worker-pool.ts';
import type { TextJob, TextJobResult } from './tokenizer-worker.ts';
import { patience } from '@second-brain/harness';

after(() => closeContextWorkers());

const asText = { disallowedSpecial: new Set<string>() };
const code = 'export function add(a: number, b: number): number {\n  return a + b; // sum\n}\n';

test('o200k counts match gpt-tokenizer, special-token strings counted as text', { timeout: patience(20_000) }, async () => {
  const texts = [
    '', 'hello world', code, 'héllo wörld — ünïcödé ✓ 日本語のテキスト 🚀🚀', 'a <|endoftext|> b <|im_start|>',
    code.repeat(30_000), // ~2.4 MB: spans several worker batches
    '\n\n\n    \t  \r\n', 'x'.repeat(500) + ' ' + '='.repeat(511) + '\n' + ' '.repeat(300),
  ];
  const got = await countTokens(texts, 'o200k', AbortSignal.timeout(patience(15_000)));
  assert.deepEqual(got, texts.map((t) => referenceCount(t, asText)));
  assert.ok(got[4]! > 5, 'special tokens are plain text, not single control tokens');
});

test('long unbroken runs are counted in bounded time, close to the exact count', { timeout: patience(20_000) }, async () => {
  // One 70,000-letter piece takes gpt-tokenizer 2.5 s (quadratic); 1 MB of it would take minutes.
  const t0 = performance.now();
  const [huge, mixed] = await countTokens(['x'.repeat(1_000_000), `${code}${'='.repeat(300_000)}${code}${' '.repeat(100_000)}end`], 'o200k', AbortSignal.timeout(patience(15_000)));
  assert.ok(performance.now() - t0 < 5_000, `took ${performance.now() - t0} ms`);
  assert.ok(huge! > 100_000 && mixed! > 1_000);
  const run = 'ab'.repeat(10_000) + ' tail';
  const [got] = await countTokens([run], 'o200k', AbortSignal.timeout(patience(10_000)));
  const exact = referenceCount(run, asText);
  assert.ok(Math.abs(got! - exact) <= exact * 0.01, `${got} vs ${exact}`);
});

test('estimate family: ceil(UTF-8 bytes / 3)', { timeout: patience(5_000) }, async () => {
  const got = await countTokens(['', 'abc', 'abcd', 'é', code], 'estimate', AbortSignal.timeout(patience(4_000)));
  assert.deepEqual(got, [0, 1, 2, 1, Math.ceil(Buffer.byteLength(code) / 3)]);
  assert.equal(estimateTokens('日本'), 2);
  await assert.rejects(countTokens(['x'], 'cl100k' as never, AbortSignal.timeout(1_000)), { code: 'SB_ERR_INVALID_ARGUMENT' });
});

test('hashContent is sha256 of the UTF-8 text, inline and on the pool', { timeout: patience(10_000) }, async () => {
  const small = ['', 'abc', 'héllo'];
  const big = ['é'.repeat(100_000), code.repeat(5_000)];
  const sha = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');
  assert.deepEqual(await hashContent(small, AbortSignal.timeout(patience(5_000))), small.map(sha));
  const before = contextWorkerStats().text.completed;
  assert.deepEqual(await hashContent(big, AbortSignal.timeout(patience(5_000))), big.map(sha));
  assert.ok(contextWorkerStats().text.completed > before, 'large inputs are hashed on a worker');
});

test('an abort rejects a running count at once and the pool keeps working', { timeout: patience(60_000) }, async (t) => {
  await countTokens(['warm up'], 'o200k', AbortSignal.timeout(patience(10_000)));
  const texts = Array.from({ length: 40 }, (_, i) => `${i} ${code.repeat(6_000)}`); // ~20 MB, seconds of work
  // 50 ms from the abort, held for the excess over a reference process measuring the machine.
  await judgeLatency(t, { label: 'abort → running count rejected', boundMs: 50, compareWith: 'own-loop' }, async () => {
    const ac = new AbortController();
    const p = countTokens(texts, 'o200k', ac.signal);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    ac.abort();
    await assert.rejects(p, { code: 'SB_ERR_CANCELLED' });
    return performance.now() - t0;
  });
  assert.deepEqual(await countTokens(['hello world'], 'o200k', AbortSignal.timeout(patience(10_000))), [2]);
  await assert.rejects(countTokens(['x'], 'o200k', AbortSignal.abort()), { code: 'SB_ERR_CANCELLED' });
  await assert.rejects(countTokens(texts, 'o200k', AbortSignal.timeout(30)), { code: 'SB_ERR_DEADLINE_EXCEEDED' });
});

test('closeContextWorkers fails pending work with SB_ERR_SHUTTING_DOWN; the next call starts a fresh pool', { timeout: patience(20_000) }, async () => {
  const p = countTokens(Array.from({ length: 20 }, (_, i) => `${i}${code.repeat(6_000)}`), 'o200k', AbortSignal.timeout(patience(15_000)));
  const outcome = p.then(() => undefined, (err: unknown) => err);
  await new Promise((r) => setTimeout(r, 20));
  await closeContextWorkers();
  assert.equal(((await outcome) as { code?: string })?.code, 'SB_ERR_SHUTTING_DOWN');
  assert.equal(contextWorkerStats().text.workers, 0);
  assert.deepEqual(await countTokens(['hello world'], 'o200k', AbortSignal.timeout(patience(10_000))), [2]);
});

test('the pool queue is bounded: callers past the bound wait, nothing is lost', { timeout: patience(20_000) }, async (t) => {
  const pool = new WorkerPool<TextJob, TextJobResult>({ url: new URL('./tokenizer-worker.ts', import.meta.url), size: 1, queueMax: 2, purpose: 'test' });
  t.after(() => pool.close());
  let maxQueued = 0;
  const timer = setInterval(() => { maxQueued = Math.max(maxQueued, pool.stats().queued); }, 1);
  const jobs = Array.from({ length: 8 }, (_, i) => pool.run({ items: [`job ${i} `.repeat(20_000)], count: false, hash: true }, AbortSignal.timeout(patience(15_000))));
  const results = await Promise.all(jobs).finally(() => clearInterval(timer));
  assert.equal(results.length, 8);
  for (const [i, r] of results.entries()) assert.equal(r.sha256![0], createHash('sha256').update(`job ${i} `.repeat(20_000)).digest('hex'));
  const s = pool.stats();
  assert.ok(maxQueued <= 2, `queued at most 2, saw ${maxQueued}`);
  assert.ok(s.queueFullWaits > 0);
  assert.equal(s.completed, 8);
  await pool.close();
  await assert.rejects(pool.run({ items: ['x'], count: false, hash: true }, AbortSignal.timeout(1_000)), { code: 'SB_ERR_SHUTTING_DOWN' });
});

test('workers pace themselves while the event loop runs late', { timeout: patience(20_000) }, async (t) => {
  const pool = new WorkerPool<TextJob, TextJobResult>({ url: new URL('./tokenizer-worker.ts', import.meta.url), size: 1, queueMax: 4, purpose: 'test' });
  t.after(() => pool.close());
  await pool.run({ items: ['warm up'], count: true, hash: false }, AbortSignal.timeout(patience(10_000)));
  const job = pool.run({ items: Array.from({ length: 400 }, (_, i) => `${i} ${code.repeat(200)}`), count: true, hash: false }, AbortSignal.timeout(patience(15_000)));
  // Hold the event loop for 30 ms at a time, as a CPU-starved loop would look to the probe.
  const hog = setInterval(() => { const end = performance.now() + 30; while (performance.now() < end) { /* busy */ } }, 40);
  let maxPause = 0;
  const watch = setInterval(() => { maxPause = Math.max(maxPause, pool.stats().pauseMs); }, 5);
  // Cleared however the job ends: a hog left running would keep the file alive for good.
  try {
    await job;
  } finally {
    clearInterval(hog);
    clearInterval(watch);
  }
  assert.ok(pool.stats().pauseRaises > 0, 'the pacer noticed the late loop');
  assert.ok(maxPause > 0, 'and asked the worker to pause');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(pool.stats().pauseMs, 0, 'no pause once no job runs');
});
