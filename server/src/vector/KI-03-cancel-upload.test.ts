/**
 * KI-03: cancellation reaches every upload request, poll, and backoff sleep. After the
 * cancel no request starts (except the upstream cancel of an unfinished batch), open
 * requests are aborted within 50 ms, and partial uploads are left recorded for the
 * janitor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeLatency } from '../../../harness/src/reference/latency-test.ts';
import { ErrorCode, SbError } from '../errors.ts';
import { VectorStoreManager } from './manager.ts';
import { VectorState } from './state.ts';
import { FAST_LIMITS, manyFiles, startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

const cancelled = (e: unknown) => e instanceof SbError && e.code === ErrorCode.CANCELLED;
/** The catalogue's bound on cancel → aborted, held for the excess over a reference process measuring the machine in the same window. */
const MAX_CANCEL_MS = 50;

test('KI-03: cancel during the third of ten uploads: open uploads abort within 50 ms, nothing starts after', { timeout: patience(45_000) }, async (t) => {
  await judgeLatency(t, { label: 'KI-03 cancel → call ended and uploads aborted', boundMs: MAX_CANCEL_MS, compareWith: 'own-loop' }, cancelDuringUploads);
});

/** One attempt: the worst of cancel → call rejected and cancel → each open upload aborted, in ms. */
async function cancelDuringUploads(): Promise<number> {
  const f = startFake({ account: { uploadLatencyMs: 300 } });
  const st = tempState();
  try {
    const m = new VectorStoreManager({
      client: f.client(), db: st.db, instanceId: 'ki03', serverName: 'second-brain',
      limits: { ...FAST_LIMITS, uploadConcurrencyStart: 3, uploadConcurrencyMax: 3 },
    });
    const ac = new AbortController();
    const call = m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 10), signal: ac.signal });
    await f.fake.journal.waitFor((e) => e.route === 'files.create' && e.routeCall === 3, patience(5_000));
    const abortedAt = performance.now();
    ac.abort();
    const rejectedIn = await call.then(() => Infinity, (e) => { assert.ok(cancelled(e), String(e)); return performance.now() - abortedAt; });
    await m.idle();
    await new Promise((r) => setTimeout(r, 100));

    const entries = f.fake.journal.entries();
    const openAtCancel = entries.filter((e) => e.route === 'files.create');
    assert.equal(openAtCancel.length, 3, 'three uploads were open (the concurrency), no fourth began');
    for (const e of openAtCancel) assert.ok(e.aborted, `upload ${e.routeCall} was aborted`);
    const abortLatencies = openAtCancel.map((e) => e.abortedAtMs! - abortedAt);
    const late = entries.filter((e) => e.startMs > abortedAt);
    assert.deepEqual(late.map((e) => e.route), [], 'no upstream request started after the cancel');

    // Partial uploads are recorded for the janitor; claims are free for the next call.
    const s = new VectorState(st.db);
    assert.equal(s.journal().filter((j) => j.state === 'abandoned').length, 3);
    assert.equal(st.db.prepare(`SELECT COUNT(*) AS n FROM vs_files WHERE state = 'uploading'`).get()!.n, 0);
    assert.equal(m.stats().uploadsInFlight, 0, 'every limiter slot is free');
    return Math.max(rejectedIn, ...abortLatencies);
  } finally {
    f.close();
    st.cleanup();
  }
}

test('KI-03: cancel during batch polling cancels the unfinished batch upstream', { timeout: patience(15_000) }, async () => {
  const f = startFake({ fileProcessingMs: 60_000 });
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki03b', serverName: 'second-brain', limits: FAST_LIMITS });
    const ac = new AbortController();
    const call = m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 4), signal: ac.signal });
    const poll = await f.fake.journal.waitFor((e) => e.route === 'vector_stores.file_batches.retrieve' && e.routeCall === 2, patience(5_000));
    const abortedAt = performance.now();
    ac.abort();
    await assert.rejects(call, cancelled);
    await m.idle();
    const after = f.fake.journal.entries().filter((e) => e.startMs > abortedAt);
    assert.deepEqual(after.map((e) => e.route), ['vector_stores.file_batches.cancel'], 'only the upstream cancel follows the cancel');
    assert.equal(after[0]!.batchId, poll.batchId);
    assert.equal(f.fake.state.batchStatus(f.fake.state.fileBatches.get(poll.batchId!)!), 'cancelled');
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-03: cancel during a retry-after wait after a 429 ends the call at once', { timeout: patience(45_000) }, async (t) => {
  await judgeLatency(t, { label: 'KI-03 cancel in a retry-after wait → call ended', boundMs: MAX_CANCEL_MS, compareWith: 'own-loop' }, cancelDuringRetryAfter);
});

/** One attempt: cancel → call rejected during a retry-after wait, in ms. */
async function cancelDuringRetryAfter(): Promise<number> {
  const f = startFake({ faults: [{ route: 'files.create', fault: { type: 'rate-limit', retryAfterMs: 10_000 } }] });
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki03c', serverName: 'second-brain', limits: FAST_LIMITS });
    const ac = new AbortController();
    const call = m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 3), signal: ac.signal });
    await f.fake.journal.waitFor((e) => e.route === 'files.create' && e.status === 429, patience(5_000));
    await new Promise((r) => setTimeout(r, 50));
    const abortedAt = performance.now();
    ac.abort();
    await assert.rejects(call, cancelled);
    const endedIn = performance.now() - abortedAt;
    assert.equal(f.fake.journal.entries().filter((e) => e.startMs > abortedAt).length, 0);
    return endedIn;
  } finally {
    f.close();
    st.cleanup();
  }
}

test('KI-03: cancel while hashing files that came without a hash ends the call before any upstream request', { timeout: patience(15_000) }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki03d', serverName: 'second-brain', limits: { ...FAST_LIMITS, readConcurrency: 1 } });
    const ac = new AbortController();
    const files = manyFiles(st.dir, 200);
    const call = m.attachFiles({ sessionId: 's', files, signal: ac.signal, onProgress: () => ac.abort() });
    await assert.rejects(call, cancelled);
    assert.equal(f.fake.journal.entries().length, 0);
    const hashed = st.db.prepare('SELECT COUNT(*) AS n FROM vs_hash_cache').get()!.n as number;
    assert.ok(hashed <= 1, `${hashed} of 200 files were still read after the cancel`);
  } finally {
    f.close();
    st.cleanup();
  }
});
