/**
 * KI-12 / KI-20: gathering and tokenising a large tree must not stall the event loop. File
 * work goes through the bounded libuv pool, token counting and hashing through worker
 * threads, so timers (and MCP pings) keep their schedule.
 */
import { after, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { judgeLatency } from '../../../harness/src/reference/latency-test.ts';
import type { LatencyJudgement } from '../../../harness/src/reference/latency-test.ts';
import { MAX_JUDGING_ATTEMPTS } from '../../../harness/src/reference/defaults.ts';
import { gatherFiles } from './gather.ts';
import { closeContextWorkers, contextDiagnostics, countFileTokens, prepareContext } from './index.ts';
import { patience } from '@second-brain/harness';

after(() => closeContextWorkers());

const FILES = 20_000;
const MAX_DELAY_MS = 50;

function bigTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'sb-loop-'));
  writeFileSync(join(root, '.gitignore'), '*.log\n');
  for (let i = 0; i < FILES; i++) {
    const dir = join(root, `pkg${i % 20}`, `mod${Math.floor(i / 20) % 10}`);
    if (i < 200) mkdirSync(dir, { recursive: true });
    // Varied, code-like content of 1–3 KB, so the tokenizer's caches do not make it trivial.
    const lines = [`// file ${i}`, `import { helper${i % 97} } from '../shared/helper-${i % 31}.ts';`];
    for (let l = 0; l < 20 + (i % 40); l++) lines.push(`export function fn${i}_${l}(value${l}: number): number { return helper${i % 97}(value${l} * ${(i * 31 + l) % 1009}); }`);
    writeFileSync(join(dir, `file-${i}.ts`), lines.join('\n') + '\n');
  }
  // Flush the fixture to disk first, so the kernel's writeback of it is not measured as ours.
  execFileSync('sync');
  return root;
}

const ms = (ns: number) => Math.round(ns / 1e4) / 100;

/**
 * Other processes competing for the two cores delay timers too (50–190 ms spikes were seen
 * with a load average of 3 while this process's main thread was idle). So a reference
 * process (a Node process doing nothing) samples its own event loop over the same window,
 * and the bound holds for this process's excess over it; a blocking defect (work on the
 * event loop) delays this loop only, on every attempt. A bounded number of attempts, then
 * "not judged (machine too busy)" (a skip, or a failure with SB_STRICT_JUDGING=1).
 */
async function measure(t: TestContext, label: string, run: () => Promise<string>): Promise<LatencyJudgement> {
  return judgeLatency(t, { label: `${label}: event-loop delay max`, boundMs: MAX_DELAY_MS, compareWith: 'loop', loopResolutionMs: 10 }, async (attempt) => {
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const note = await run();
    h.disable();
    t.diagnostic(`${label} attempt ${attempt}: ${note}; event-loop delay max ${ms(h.max)} ms, p99 ${ms(h.percentile(99))} ms, mean ${ms(h.mean)} ms over ${h.count} samples; load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores`);
    assert.ok(h.count > 50, 'the loop was sampled throughout');
    return h.max / 1e6;
  });
}

// A guard, not a bound: up to MAX_JUDGING_ATTEMPTS runs of each measure (tokenising took
// 73–79 s per run beside two busy loops, and two runs of the first measure outlasted 90 s × 3.7).
test(`KI-12: gathering and tokenising ${FILES.toLocaleString('en-US')} files keeps event-loop delay under ${MAX_DELAY_MS} ms`, { timeout: patience(90_000 * MAX_JUDGING_ATTEMPTS) }, async (t) => {
  const root = bigTree();
  t.after(() => rmSync(root, { recursive: true, force: true }));

  const gt = await measure(t, 'gather + tokenise', async () => {
    const t0 = performance.now();
    const g = await gatherFiles({ paths: ['.'], roots: [root], signal: AbortSignal.timeout(patience(45_000)) });
    const gatherMs = performance.now() - t0;
    const tokens = await countFileTokens(g.files, 'o200k', AbortSignal.timeout(patience(45_000)));
    const tokeniseMs = performance.now() - t0 - gatherMs;
    assert.equal(g.files.length, FILES + 1); // + .gitignore
    const total = tokens.reduce((a, b) => a + b, 0);
    const w = contextDiagnostics().workers;
    return `gather ${Math.round(gatherMs)} ms (${g.files.length} files, ${(g.stats.totalBytes / 1_048_576).toFixed(1)} MiB), tokenise ${Math.round(tokeniseMs)} ms (${total} o200k tokens), worker pacing raised ${w.text.pauseRaises + w.reader.pauseRaises} times so far`;
  });
  if (gt.verdict !== 'pass') return;

  // The whole pipeline (tracking, hashing, budget, tree, prompt) on the same tree.
  const pc = await measure(t, 'prepareContext', async () => {
    const t1 = performance.now();
    const ctx = await prepareContext({
      model: { contextWindow: 1_000_000, tokenizerFamily: 'o200k' }, paths: ['.'], roots: [root], instructions: 'Review.', signal: AbortSignal.timeout(patience(45_000)),
    });
    assert.equal(ctx.stats.files, FILES + 1);
    return `${Math.round(performance.now() - t1)} ms, ${ctx.inline.length} inline, ${ctx.overflow.length} overflow, tree ${ctx.stats.treeCondensed ? 'condensed' : 'full'}`;
  });
  // judgeLatency failed the test already on a judged miss; 'not-judged' skipped it.
  t.diagnostic(pc.message);
});
