/**
 * Memory compaction: every chat call searches the memory store, so the store must not
 * grow with history. Entries roll into digest documents of a bounded size, a digest's
 * new version replaces the old file, and past the document cap the oldest digest goes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryQueue } from './queue.ts';
import { startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience, waitUntil } from '@second-brain/harness';

const GIT = { branch: 'main', head: '1234567890abcdef1234567890abcdef12345678' };

const until = (cond: () => boolean, ms = 20_000): Promise<void> => waitUntil(cond, ms);

test('memory: 60 entries stay in at most 3 documents of 5 entries; the newest are kept, replaced files deleted', { timeout: patience(60_000) }, async () => {
  const f = startFake();
  const st = tempState();
  const q = new MemoryQueue({
    client: f.client(), db: st.db, instanceId: 'mem', projectRoot: st.dir, pollIntervalMs: 5, maxQueued: 100,
    gitInfo: async () => GIT, digestMaxEntries: 5, maxDocuments: 3,
  });
  try {
    for (let i = 1; i <= 60; i++) {
      q.enqueue({ sessionId: 's', question: `question number ${i}`, answerExcerpt: `answer ${i}`, files: ['src/a.ts'], model: 'o3' });
      // A few at a time, as calls arrive.
      if (i % 10 === 0) await until(() => q.stats().stored + q.stats().failed === i);
    }
    assert.equal(q.stats().failed, 0);
    const storeId = q.storeId()!;
    const attached = [...f.fake.state.filesOf(storeId).values()];
    assert.ok(attached.length <= 3, `the store holds ${attached.length} files, cap 3`);
    assert.ok(f.fake.state.files.size <= 3, `${f.fake.state.files.size} file objects remain, cap 3`);
    assert.equal(q.stats().documents, 3);
    const numbers = [...f.fake.state.files.values()]
      .flatMap((x) => [...x.content.matchAll(/question number (\d+)/g)].map((m) => Number(m[1])))
      .sort((a, b) => a - b);
    assert.deepEqual(numbers, Array.from({ length: 15 }, (_, k) => 46 + k), 'the newest 15 entries, each once');
    const hits = await q.searchProjectHistory({ query: 'question number 60', maxResults: 5, signal: AbortSignal.timeout(patience(5_000)) });
    const newest = [...f.fake.state.files.values()].find((x) => x.content.includes('question number 60'))!;
    assert.ok(hits.some((h) => h.filename === newest.filename), 'the document holding the newest entry is searchable');
  } finally {
    await q.close(0);
    f.close();
    st.cleanup();
  }
});

test('memory: a digest is sealed by bytes as well as entries', { timeout: patience(30_000) }, async () => {
  const f = startFake();
  const st = tempState();
  const q = new MemoryQueue({
    client: f.client(), db: st.db, instanceId: 'mem', projectRoot: st.dir, pollIntervalMs: 5, maxQueued: 100,
    gitInfo: async () => GIT, digestMaxEntries: 50, digestMaxBytes: 3_000, maxDocuments: 100,
  });
  try {
    for (let i = 1; i <= 6; i++) q.enqueue({ sessionId: 's', question: `q${i}`, answerExcerpt: 'x'.repeat(1_000), files: [], model: 'o3' });
    await until(() => q.stats().stored + q.stats().failed === 6);
    // Each entry is about 1.3 KB: two fit in 3,000 bytes, so six make three documents.
    assert.equal(q.stats().documents, 3);
    assert.equal([...f.fake.state.filesOf(q.storeId()!).values()].length, 3);
  } finally {
    await q.close(0);
    f.close();
    st.cleanup();
  }
});

test('memory: git runs once per burst of entries, not once per entry', { timeout: patience(30_000) }, async () => {
  const f = startFake();
  const st = tempState();
  let gitRuns = 0;
  const q = new MemoryQueue({
    client: f.client(), db: st.db, instanceId: 'mem', projectRoot: st.dir, pollIntervalMs: 5, maxQueued: 100,
    gitInfo: async () => { gitRuns++; return GIT; }, gitInfoTtlMs: 60_000,
  });
  try {
    for (let i = 1; i <= 10; i++) q.enqueue({ sessionId: 's', question: `q${i}`, answerExcerpt: 'a', files: [], model: 'o3' });
    await until(() => q.stats().stored + q.stats().failed === 10);
    assert.equal(q.stats().stored, 10);
    assert.equal(gitRuns, 1, 'branch and HEAD were read once for the burst');
  } finally {
    await q.close(0);
    f.close();
    st.cleanup();
  }
});
