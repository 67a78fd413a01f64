/**
 * KI-11: memory storage is background work that must never starve the next call. The
 * queue is bounded and counts drops; enqueue returns at once even with a slow upstream
 * and a 5 MB conversation; shutdown has a deadline; failures are counted, not thrown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { MemoryQueue, type MemoryQueueOptions } from './queue.ts';
import { readGitInfo } from './git-info.ts';
import { entriesOf, startFake, tempState, type FakeHandle, type TempState } from '../../test/support/vector-fixtures.ts';
import { judgeLatency } from '../../../harness/src/reference/latency-test.ts';
import { threadCpuMs } from '../../../harness/src/reference/cpu-time.ts';
import { patience, waitUntil } from '@second-brain/harness';

const GIT = { branch: 'main', head: '1234567890abcdef1234567890abcdef12345678' };

function setup(fakeOptions: Parameters<typeof startFake>[0] = {}, options: Partial<MemoryQueueOptions> = {}) {
  const f: FakeHandle = startFake(fakeOptions);
  const st: TempState = tempState();
  const q = new MemoryQueue({
    client: f.client(), db: st.db, instanceId: 'mem', projectRoot: st.dir, pollIntervalMs: 5,
    gitInfo: async () => GIT, ...options,
  });
  return { f, st, q, done: async () => { await q.close(0); f.close(); st.cleanup(); } };
}

const item = (n: number, extra: Partial<{ answerExcerpt: string; question: string }> = {}) => ({
  sessionId: 's', question: `question number ${n}`, answerExcerpt: `answer ${n}`, files: ['src/a.ts'], model: 'o3', ...extra,
});

const until = (cond: () => boolean, ms = 5_000): Promise<void> => waitUntil(cond, ms);

/** Largest lateness of a 10 ms interval timer over `ms` (a stand-in for MCP ping). */
async function maxLoopLag(ms: number): Promise<number> {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  await delay(ms);
  clearInterval(t);
  return worst;
}

test('KI-11: the queue is bounded; overflow drops the oldest and counts it', { timeout: patience(10_000) }, async () => {
  const { f, q, done } = setup({}, { maxQueued: 3 });
  try {
    for (let i = 1; i <= 10; i++) assert.equal(q.enqueue(item(i)), true);
    assert.deepEqual({ queued: q.stats().queued, dropped: q.stats().dropped }, { queued: 3, dropped: 7 });
    await until(() => q.stats().stored === 3);
    // Entries are compacted into one digest document; every question in it counts.
    const stored = [...f.fake.state.files.values()].flatMap((x) => [...x.content.matchAll(/question number (\d+)/g)].map((m) => m[1])).sort();
    assert.deepEqual(stored, ['10', '8', '9'], 'the newest three were kept');
  } finally {
    await done();
  }
});

test('KI-11: with overflow "reject" the newest is refused and counted', { timeout: patience(10_000) }, async () => {
  const { q, done } = setup({}, { maxQueued: 2, overflow: 'reject' });
  try {
    const accepted = [1, 2, 3, 4].map((i) => q.enqueue(item(i)));
    assert.deepEqual(accepted, [true, true, false, false]);
    assert.equal(q.stats().dropped, 2);
  } finally {
    await done();
  }
});

test('KI-11: a slow upstream and a 5 MB conversation do not delay enqueue or the event loop', { timeout: patience(30_000) }, async (t) => {
  // Slow enough to stay pending through every judging attempt below.
  const { f, q, done } = setup({ faults: [{ route: 'files.create', fault: { type: 'latency', ms: 15_000 } }] });
  try {
    const huge = Buffer.alloc(5 * 1024 * 1024, 'x').toString('latin1');
    let worst = 0;
    for (let i = 0; i < 5; i++) {
      // This thread's CPU time: enqueue is synchronous, and what it must not cost is work
      // (copying, hashing, git); other processes taking the CPU are not its cost.
      const t0 = threadCpuMs();
      q.enqueue(item(i, { answerExcerpt: huge, question: huge }));
      worst = Math.max(worst, threadCpuMs() - t0);
    }
    assert.ok(worst < 10, `an enqueue of a 10 MB item took ${worst.toFixed(1)} ms of CPU`);
    await f.fake.journal.waitFor((e) => e.route === 'files.create', patience(2_000));
    // A timer's lateness beyond its 10 ms interval, held for the excess over a reference process measuring the machine.
    await judgeLatency(t, { label: 'a 10 ms timer\'s lateness while memory work is pending', boundMs: 50, compareWith: 'own-loop' }, () => maxLoopLag(500));
    assert.equal(q.stats().stored, 0, 'the upstream is still slow');
    const upload = entriesOf(f.fake, 'files.create')[0]!;
    assert.ok(upload, 'the worker is running');
  } finally {
    await done();
  }
});

test('KI-11: close(deadline) ends within the deadline, aborts the running task, drops the rest', { timeout: patience(45_000) }, async (t) => {
  // Ends by 400 ms for a 150 ms deadline, held for the excess over a reference process measuring the machine.
  await judgeLatency(t, { label: 'close(150 ms) with a hung task', boundMs: 400, compareWith: 'own-loop' }, closeWithDeadline);
});

/** One attempt: the latency the bound is on, in ms. */
async function closeWithDeadline(): Promise<number> {
  const { f, q, done } = setup({ faults: [{ route: 'vector_stores.files.create', fault: { type: 'hang' } }] });
  try {
    q.enqueue(item(1));
    q.enqueue(item(2));
    q.enqueue(item(3));
    await f.fake.journal.waitFor((e) => e.route === 'vector_stores.files.create', patience(3_000));
    const t0 = performance.now();
    await q.close(150);
    const took = performance.now() - t0;
    assert.ok(took >= 140, `close took ${took.toFixed(0)} ms for a 150 ms deadline: it did not wait for the running task`);
    const hung = entriesOf(f.fake, 'vector_stores.files.create')[0]!;
    await until(() => hung.aborted);
    assert.deepEqual({ ...q.stats(), running: undefined, documents: undefined, staleAbandoned: undefined },
      { enabled: true, queued: 0, dropped: 2, failed: 1, stored: 0, running: undefined, documents: undefined, staleAbandoned: undefined });
    assert.equal(q.enqueue(item(4)), false, 'no intake after close');
    return took;
  } finally {
    await done();
  }
}

test('KI-11: a task past its deadline is abandoned and counted; the next entry is still stored', { timeout: patience(10_000) }, async () => {
  const { f, q, done } = setup({ faults: [{ route: 'files.create', calls: [1], fault: { type: 'hang' } }] }, { taskTimeoutMs: 200 });
  try {
    q.enqueue(item(1));
    q.enqueue(item(2));
    await until(() => q.stats().stored === 1);
    assert.equal(q.stats().failed, 1);
    assert.ok(entriesOf(f.fake, 'files.create')[0]!.aborted, 'the hung upload was aborted at the task deadline');
  } finally {
    await done();
  }
});

test('KI-11: upstream failures are counted and logged, never thrown into later calls', { timeout: patience(10_000) }, async () => {
  const { f, q, done } = setup({ faults: [{ route: 'files.create', times: 2, fault: { type: 'status', status: 500 } }] });
  try {
    q.enqueue(item(1));
    q.enqueue(item(2));
    await until(() => q.stats().failed === 2);
    q.enqueue(item(3));
    await until(() => q.stats().stored === 1);
    assert.equal(q.stats().failed, 2);
    assert.equal(entriesOf(f.fake, 'files.create').length, 3);
  } finally {
    await done();
  }
});

test('memory: entries go to one per-project store owned by second-brain, kind memory', { timeout: patience(10_000) }, async () => {
  const { f, q, done } = setup();
  try {
    q.enqueue(item(1));
    q.enqueue(item(2));
    await until(() => q.stats().stored === 2);
    assert.equal(f.fake.state.vectorStores.size, 1);
    const store = [...f.fake.state.vectorStores.values()][0]!;
    assert.equal(store.metadata?.owner, 'second-brain');
    assert.equal(store.metadata?.kind, 'memory');
    assert.equal(q.storeId(), store.id);
    assert.ok(store.expiresAfter, 'created with a provider-side expiry');
    const attrs = [...f.fake.state.filesOf(store.id).values()][0]!.attributes!;
    assert.equal(attrs.branch, 'main');
    assert.equal(attrs.head, GIT.head);
  } finally {
    await done();
  }
});

test('memory: searchProjectHistory labels every result as possibly outdated, with date, branch and HEAD', { timeout: patience(10_000) }, async () => {
  const { q, done } = setup();
  try {
    assert.deepEqual(await q.searchProjectHistory({ query: 'janitor', maxResults: 5, signal: AbortSignal.timeout(patience(2_000)) }), [], 'no store yet: no results');
    q.enqueue(item(1, { question: 'How does the janitor decide which vector stores to delete?', answerExcerpt: 'It checks the owner metadata.' }));
    await until(() => q.stats().stored === 1);
    const results = await q.searchProjectHistory({ query: 'janitor', maxResults: 5, signal: AbortSignal.timeout(patience(2_000)) });
    assert.equal(results.length, 1);
    const r = results[0]!;
    assert.equal(r.possiblyOutdated, true);
    assert.equal(r.branch, 'main');
    assert.equal(r.head, GIT.head);
    assert.match(r.recordedAt!, /^\d{4}-\d\d-\d\dT/);
    assert.match(r.label, /^Possibly outdated: recorded \d{4}-\d\d-\d\d on main at 1234567; the code may have changed since\.$/);
    assert.match(r.text, /janitor/);
  } finally {
    await done();
  }
});

test('memory off: enqueue is a no-op and search returns nothing, without any request', { timeout: patience(5_000) }, async () => {
  const { f, q, done } = setup({}, { enabled: false });
  try {
    assert.equal(q.enqueue(item(1)), false);
    await delay(20);
    assert.deepEqual(await q.search({ query: 'x', maxResults: 3, signal: AbortSignal.timeout(1_000) }), []);
    assert.equal(f.fake.journal.entries().length, 0);
    assert.equal(q.storeId(), undefined);
  } finally {
    await done();
  }
});

test('memory: git branch and HEAD come from async execFile; a directory without git gives none', { timeout: patience(10_000) }, async () => {
  const repo = mkdtempSync(join(tmpdir(), 'sb-git-'));
  const plain = mkdtempSync(join(tmpdir(), 'sb-nogit-'));
  try {
    const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
    execFileSync('git', ['init', '-q', '-b', 'trunk'], { cwd: repo, env });
    writeFileSync(join(repo, 'a.txt'), 'a');
    execFileSync('git', ['add', '.'], { cwd: repo, env });
    execFileSync('git', ['commit', '-q', '-m', 'one'], { cwd: repo, env });
    const info = await readGitInfo(repo, AbortSignal.timeout(patience(5_000)), 5_000);
    assert.equal(info.branch, 'trunk');
    assert.match(info.head!, /^[0-9a-f]{40}$/);
    assert.deepEqual(await readGitInfo(plain, AbortSignal.timeout(patience(5_000)), 5_000), {});
    const ac = new AbortController();
    ac.abort();
    assert.deepEqual(await readGitInfo(repo, ac.signal, 5_000), {}, 'an aborted task runs no git');
  } finally {
    rmSync(repo, { recursive: true, force: true });
    rmSync(plain, { recursive: true, force: true });
  }
});
