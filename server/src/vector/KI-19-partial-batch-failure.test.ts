/**
 * KI-19: one failing batch (or file) out of many. Failed files are retried with
 * backoff a bounded number of times and then reported; the rest attach. A batch stuck
 * past its budget is cancelled upstream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VectorStoreManager } from './manager.ts';
import type { VectorEvent } from './types.ts';
import { FAST_LIMITS, entriesOf, manyFiles, startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

const attachedAt = (fake: ReturnType<typeof startFake>['fake'], storeId: string) =>
  [...fake.state.filesOf(storeId).values()].filter((r) => fake.state.vectorStoreFileStatus(r) === 'completed').map((r) => fake.state.files.get(r.fileId)!.filename).sort();

test('KI-19: a file that keeps failing is retried uploadMaxAttempts times, then reported; the others attach', { timeout: patience(15_000) }, async () => {
  const f = startFake({
    faults: [{ route: 'vector_stores.file_batches.create', fault: { type: 'file-status', status: 'failed', fileNames: ['f003.ts'], code: 'invalid_file' } }],
  });
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki19', serverName: 'second-brain', limits: { ...FAST_LIMITS, uploadMaxAttempts: 3 } });
    const r = await m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 12), signal: AbortSignal.timeout(patience(10_000)) });
    assert.deepEqual(r.failed.map((x) => x.relPath), ['src/f003.ts']);
    assert.match(r.failed[0]!.reason, /invalid_file.*after 3 attempts/);
    assert.equal(r.attached.length, 11);
    assert.ok(!r.attached.includes('src/f003.ts'));
    const batches = entriesOf(f.fake, 'vector_stores.file_batches.create');
    assert.deepEqual(batches.map((b) => b.fileCount), [12, 1, 1], 'first batch has all files, then two retries of the failed one');
    assert.equal(r.stats.attachRetries, 2);
    assert.equal(attachedAt(f.fake, r.vectorStoreId).length, 11);
    // Uploaded once: a failed attach does not re-upload.
    assert.equal(entriesOf(f.fake, 'files.create').length, 12);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-19: a file that fails once attaches on the retry', { timeout: patience(15_000) }, async () => {
  const f = startFake({
    faults: [{ route: 'vector_stores.file_batches.create', times: 1, fault: { type: 'file-status', status: 'failed', fileIndexes: [0, 5] } }],
  });
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki19b', serverName: 'second-brain', limits: FAST_LIMITS });
    const r = await m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 8), signal: AbortSignal.timeout(patience(10_000)) });
    assert.deepEqual(r.failed, []);
    assert.equal(r.attached.length, 8);
    assert.deepEqual(entriesOf(f.fake, 'vector_stores.file_batches.create').map((b) => b.fileCount), [8, 2]);
    assert.equal(attachedAt(f.fake, r.vectorStoreId).length, 8);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-19: one of several parallel batches answers 500; it is retried and the others finish', { timeout: patience(15_000) }, async () => {
  const f = startFake({ faults: [{ route: 'vector_stores.file_batches.create', calls: [2], fault: { type: 'status', status: 500 } }] });
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki19c', serverName: 'second-brain', limits: { ...FAST_LIMITS, batchMaxFiles: 5 } });
    const r = await m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 20), signal: AbortSignal.timeout(patience(10_000)) });
    assert.deepEqual(r.failed, []);
    assert.equal(r.attached.length, 20);
    const creates = entriesOf(f.fake, 'vector_stores.file_batches.create');
    assert.equal(creates.length, 5, 'four batches plus one retry');
    assert.equal(creates.filter((c) => c.status === 500).length, 1);
    assert.equal(attachedAt(f.fake, r.vectorStoreId).length, 20);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-19: a batch stuck in_progress past its budget is cancelled upstream; its files are reported, the other batch attaches', { timeout: patience(15_000) }, async () => {
  const f = startFake({ faults: [{ route: 'vector_stores.file_batches.create', calls: [1], fault: { type: 'batch-stuck' } }] });
  const st = tempState();
  try {
    const events: VectorEvent[] = [];
    const m = new VectorStoreManager({
      client: f.client(), db: st.db, instanceId: 'ki19d', serverName: 'second-brain',
      limits: { ...FAST_LIMITS, batchMaxFiles: 4, batchConcurrency: 1, batchDeadlineMs: 300 },
      onEvent: (e) => events.push(e),
    });
    const started = performance.now();
    const r = await m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 8), signal: AbortSignal.timeout(patience(10_000)) });
    const elapsed = performance.now() - started;
    assert.equal(r.failed.length, 4);
    for (const x of r.failed) assert.match(x.reason, /^still processing after 0\.3 s; the batch was cancelled$/);
    assert.equal(r.attached.length, 4);
    const cancels = entriesOf(f.fake, 'vector_stores.file_batches.cancel');
    assert.equal(cancels.length, 1);
    const stuck = entriesOf(f.fake, 'vector_stores.file_batches.create')[0]!;
    assert.equal(cancels[0]!.batchId, stuck.batchId);
    assert.equal(f.fake.state.batchStatus(f.fake.state.fileBatches.get(stuck.batchId!)!), 'cancelled');
    assert.ok(events.some((e) => e.type === 'batch_cancelled' && e.reason === 'deadline'));
    assert.equal(r.stats.batchesCancelled, 1);
    assert.ok(elapsed < 3_000, `bounded by the batch budget, took ${Math.round(elapsed)} ms`);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-19: an upload that hangs past its request deadline is retried, and its unknown outcome is left for the janitor', { timeout: patience(15_000) }, async () => {
  const f = startFake({ faults: [{ route: 'files.create', calls: [1], fault: { type: 'hang' } }] });
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki19e', serverName: 'second-brain', limits: { ...FAST_LIMITS, uploadRequestTimeoutMs: 150 } });
    const r = await m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 3), signal: AbortSignal.timeout(patience(10_000)) });
    assert.deepEqual(r.failed, []);
    assert.equal(r.attached.length, 3);
    const uploads = entriesOf(f.fake, 'files.create');
    assert.equal(uploads.length, 4, 'three uploads and one retry');
    assert.ok(uploads[0]!.aborted);
    const journal = st.db.prepare('SELECT state FROM vs_upload_journal').all() as Array<{ state: string }>;
    assert.deepEqual(journal.map((j) => j.state), ['abandoned']);
  } finally {
    f.close();
    st.cleanup();
  }
});
