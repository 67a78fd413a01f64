/**
 * KI-08: many files at once must not exhaust descriptors. The gather keeps at most
 * GATHER_CONCURRENCY descriptors open, finishes under a low `ulimit -n`, and turns EMFILE
 * into bounded retries and then a skip reason, never a hang.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULTS } from '../config/defaults.ts';
import { gatherFiles } from './gather.ts';
import { closeContextWorkers } from './workers.ts';
import { patience } from '@second-brain/harness';

after(() => closeContextWorkers());

const GATHER_URL = new URL('./gather.ts', import.meta.url).pathname;

function tree(files: number, perDir: number): string {
  const root = mkdtempSync(join(tmpdir(), 'sb-ki08-'));
  for (let i = 0; i < files; i++) {
    const dir = join(root, `d${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(dir);
    writeFileSync(join(dir, `f${i}.ts`), `export const v${i} = ${i};\n`);
  }
  return root;
}

// Samples /proc/self/fd from another thread in a tight loop, so descriptors opened and closed
// by the libuv pool between two event-loop turns are still seen.
const SAMPLER = `
const { workerData } = require('node:worker_threads');
const { readdirSync } = require('node:fs');
const s = new Int32Array(workerData);
while (Atomics.load(s, 0) === 0) {
  const n = readdirSync('/proc/self/fd').length;
  if (n > Atomics.load(s, 1)) Atomics.store(s, 1, n);
  Atomics.add(s, 2, 1);
}`;

test('KI-08: open descriptors never exceed the gather concurrency (2,000 files)', { timeout: patience(30_000), skip: process.platform !== 'linux' && 'needs /proc/self/fd' }, async (t) => {
  const root = tree(2_000, 100);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  await gatherFiles({ paths: ['d0'], roots: [root], signal: AbortSignal.timeout(patience(5_000)) }); // warm libuv's pool up

  const shared = new Int32Array(new SharedArrayBuffer(12)); // [stop, max, samples]
  const sampler = new Worker(SAMPLER, { eval: true, workerData: shared.buffer });
  t.after(() => { Atomics.store(shared, 0, 1); return sampler.terminate(); });
  while (Atomics.load(shared, 2) < 200) await new Promise((r) => setTimeout(r, 5));
  const baseline = Atomics.load(shared, 1);
  Atomics.store(shared, 1, 0);
  const samplesBefore = Atomics.load(shared, 2);

  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: AbortSignal.timeout(patience(20_000)) });
  Atomics.store(shared, 0, 1);
  const peak = Atomics.load(shared, 1);
  const samples = Atomics.load(shared, 2) - samplesBefore;
  t.diagnostic(`baseline ${baseline} fds, peak ${peak} during the gather (${samples} samples), concurrency ${DEFAULTS.GATHER_CONCURRENCY}`);

  assert.equal(r.files.length, 2_000);
  assert.ok(samples > 100, `sampled ${samples} times`);
  assert.ok(peak - baseline <= DEFAULTS.GATHER_CONCURRENCY + 2, `peak ${peak} vs baseline ${baseline}`);
});

function runChild(ulimit: number, body: string): { status: number | null; out: any; stderr: string } {
  const script = `import { gatherFiles } from ${JSON.stringify(GATHER_URL)};
    import { openSync, closeSync } from 'node:fs';
    ${body}`;
  const child = spawnSync('/bin/sh', ['-c', `ulimit -n ${ulimit} && exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: 'utf8', timeout: patience(20_000) });
  let out: unknown;
  try { out = JSON.parse(child.stdout); } catch { out = child.stdout; }
  return { status: child.status, out, stderr: child.stderr };
}

test('KI-08: 2,000 files gather completely under ulimit -n 256', { timeout: patience(30_000) }, async (t) => {
  const root = tree(2_000, 200);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const c = runChild(256, `
    const r = await gatherFiles({ paths: ['.'], roots: [${JSON.stringify(root)}], signal: AbortSignal.timeout(${patience(15_000)}) });
    process.stdout.write(JSON.stringify({ files: r.files.length, skipped: r.skipped.length, retries: r.stats.emfileRetries, fallbacks: r.stats.readerFallbacks }));`);
  assert.equal(c.status, 0, c.stderr);
  assert.deepEqual(c.out, { files: 2_000, skipped: 0, retries: 0, fallbacks: 0 });
});

test('KI-08: EMFILE is retried with backoff, then reported as a skip reason, never a hang', { timeout: patience(30_000) }, async (t) => {
  const root = tree(20, 10);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // Descriptors are exhausted by other work; they come back after 100 ms.
  const transient = runChild(64, `
    const held = [];
    for (;;) { try { held.push(openSync('/dev/null', 'r')); } catch { break; } }
    // The gather starts first, so its first reads meet the exhaustion however slow the machine.
    const gathering = gatherFiles({ paths: ['.'], roots: [${JSON.stringify(root)}], signal: AbortSignal.timeout(${patience(15_000)}) });
    setTimeout(() => { for (const fd of held) closeSync(fd); }, 100);
    const r = await gathering;
    process.stdout.write(JSON.stringify({ files: r.files.length, retries: r.stats.emfileRetries }));`);
  assert.equal(transient.status, 0, transient.stderr);
  assert.equal(transient.out.files, 20);
  assert.ok(transient.out.retries > 0);

  // They never come back: the gather ends, within the retry budget, with a clear reason.
  const permanent = runChild(64, `
    const held = [];
    for (;;) { try { held.push(openSync('/dev/null', 'r')); } catch { break; } }
    const t0 = performance.now();
    const r = await gatherFiles({ paths: ['.'], roots: [${JSON.stringify(root)}], signal: AbortSignal.timeout(${patience(15_000)}) });
    process.stdout.write(JSON.stringify({ files: r.files.length, reasons: [...new Set(r.skipped.map((s) => s.reason))], ms: performance.now() - t0 }));`);
  assert.equal(permanent.status, 0, permanent.stderr);
  assert.equal(permanent.out.files, 0);
  assert.deepEqual(permanent.out.reasons, ['too-many-open-files']);
  const budgetMs = DEFAULTS.GATHER_EMFILE_BASE_DELAY_MS * (2 ** (DEFAULTS.GATHER_EMFILE_MAX_RETRIES + 1));
  assert.ok(permanent.out.ms < budgetMs + 500, `took ${permanent.out.ms} ms`);
});

test('KI-08: on the reader thread too, EMFILE is retried; a reader that cannot start falls back to the event loop', { timeout: patience(30_000) }, async (t) => {
  const root = tree(100, 50);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const exhaustOnRead = `
    const held = [];
    const onProgress = (_d, _t, m) => {
      if (held.length || !m.startsWith('Reading')) return;
      for (;;) { try { held.push(openSync('/dev/null', 'r')); } catch { break; } }
      setTimeout(() => { for (const fd of held) closeSync(fd); }, 100);
    };`;
  // Reader thread already running when descriptors run out: it retries with backoff itself.
  const warm = runChild(64, `${exhaustOnRead}
    await gatherFiles({ paths: ['.'], roots: [${JSON.stringify(root)}], signal: AbortSignal.timeout(${patience(15_000)}) });
    const r = await gatherFiles({ paths: ['.'], roots: [${JSON.stringify(root)}], signal: AbortSignal.timeout(${patience(15_000)}), onProgress });
    process.stdout.write(JSON.stringify({ files: r.files.length, retries: r.stats.emfileRetries, fallbacks: r.stats.readerFallbacks }));`);
  assert.equal(warm.status, 0, warm.stderr);
  assert.equal(warm.out.files, 100);
  assert.ok(warm.out.retries > 0);
  assert.equal(warm.out.fallbacks, 0);

  // Reader thread not started yet: it cannot start without descriptors, so the files are read on the event loop.
  const cold = runChild(64, `${exhaustOnRead}
    const r = await gatherFiles({ paths: ['.'], roots: [${JSON.stringify(root)}], signal: AbortSignal.timeout(${patience(15_000)}), onProgress });
    process.stdout.write(JSON.stringify({ files: r.files.length, retries: r.stats.emfileRetries, fallbacks: r.stats.readerFallbacks }));`);
  assert.equal(cold.status, 0, cold.stderr);
  assert.equal(cold.out.files, 100);
  assert.ok(cold.out.fallbacks >= 1);
});
