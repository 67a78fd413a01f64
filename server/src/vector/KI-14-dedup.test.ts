/**
 * KI-14: the provider does not deduplicate files, so the server must. Unchanged content
 * (by hash and path) is uploaded once: across calls, across sessions, and across two
 * processes sharing the state dir. A changed file replaces its old copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import OpenAI from 'openai';
import { startLoopbackFake } from '@second-brain/harness';
import { VectorStoreManager } from './manager.ts';
import { Janitor } from './janitor.ts';
import type { AttachFile, AttachResult } from './types.ts';
import type { ChildAttachArgs } from '../../test/support/vector-child-attach.ts';
import { FAST_LIMITS, entriesOf, manyFiles, startFake, tempState, writeProjectFiles } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

const storeFileNames = (fake: ReturnType<typeof startFake>['fake'], storeId: string) =>
  [...fake.state.filesOf(storeId).values()].map((r) => fake.state.files.get(r.fileId)?.filename ?? '(deleted)').sort();

test('KI-14: the same context three times uploads each file once; a new session reuses the uploads', { timeout: patience(15_000) }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki14', serverName: 'second-brain', limits: FAST_LIMITS });
    const files = manyFiles(st.dir, 15);
    const runs: AttachResult[] = [];
    for (let i = 0; i < 3; i++) runs.push(await m.attachFiles({ sessionId: 'a', files, signal: AbortSignal.timeout(patience(10_000)) }));
    assert.deepEqual(runs.map((r) => r.uploaded), [15, 0, 0]);
    assert.deepEqual(runs.map((r) => r.reused.length), [0, 15, 15]);
    assert.equal(new Set(runs.map((r) => r.vectorStoreId)).size, 1, 'one store per session, reused');
    assert.equal(entriesOf(f.fake, 'files.create').length, 15);
    assert.equal(entriesOf(f.fake, 'vector_stores.file_batches.create').length, 1, 'nothing re-attached either');

    const other = await m.attachFiles({ sessionId: 'b', files, signal: AbortSignal.timeout(patience(10_000)) });
    assert.notEqual(other.vectorStoreId, runs[0]!.vectorStoreId);
    assert.equal(other.uploaded, 0);
    assert.equal(other.reused.length, 15);
    assert.equal(entriesOf(f.fake, 'files.create').length, 15, 'the second session attached the existing file objects');
    assert.equal(f.fake.state.filesOf(other.vectorStoreId).size, 15);
    assert.equal(f.fake.state.files.size, 15);
    assert.equal(m.stats().files, 15);
    assert.equal(m.stats().stores, 2);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-14: a changed file replaces its old copy, and the old file object is deleted once no store uses it', { timeout: patience(15_000) }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const client = f.client();
    const m = new VectorStoreManager({ client, db: st.db, instanceId: 'ki14c', serverName: 'second-brain', limits: FAST_LIMITS });
    const janitor = new Janitor({ client, db: st.db, instanceId: 'ki14c', retryBaseMs: 0 });
    const files = writeProjectFiles(st.dir, { 'src/a.ts': 'export const a = 1;\n', 'src/b.ts': 'export const b = 1;\n' });
    const first = await m.attachFiles({ sessionId: 's', files, signal: AbortSignal.timeout(patience(10_000)) });
    const oldA = [...f.fake.state.files.values()].find((x) => x.content.includes('a = 1'))!;

    writeFileSync(files[0]!.absPath, 'export const a = 2;\n');
    const st2 = statSync(files[0]!.absPath);
    const changed = [{ ...files[0]!, size: st2.size, mtimeMs: st2.mtimeMs + 1 }, files[1]!];
    const second = await m.attachFiles({ sessionId: 's', files: changed, signal: AbortSignal.timeout(patience(10_000)) });
    assert.equal(second.vectorStoreId, first.vectorStoreId);
    assert.equal(second.uploaded, 1);
    assert.deepEqual(second.reused, ['src/b.ts']);
    assert.equal(second.stats.replaced, 1);
    const inStore = [...f.fake.state.filesOf(first.vectorStoreId).keys()];
    assert.ok(!inStore.includes(oldA.id), 'the old copy left the store');
    assert.equal(inStore.length, 2);

    // The old object is owed a delete; the janitor (off the request path) does it.
    assert.ok(f.fake.state.files.has(oldA.id));
    assert.equal(m.stats().pendingDeletes, 1);
    const report = await janitor.runOnce(AbortSignal.timeout(patience(5_000)));
    assert.equal(report.filesDeleted, 1);
    assert.ok(!f.fake.state.files.has(oldA.id), 'old file object deleted');
    assert.equal(f.fake.state.files.size, 2);
    assert.equal(m.stats().pendingDeletes, 0);

    // Back to the first content: uploaded again (its object is gone), not resurrected.
    writeFileSync(files[0]!.absPath, 'export const a = 1;\n');
    const st3 = statSync(files[0]!.absPath);
    const third = await m.attachFiles({ sessionId: 's', files: [{ ...files[0]!, size: st3.size, mtimeMs: st3.mtimeMs + 2 }, files[1]!], signal: AbortSignal.timeout(patience(10_000)) });
    assert.equal(third.uploaded, 1);
    assert.deepEqual(third.failed, []);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-14: a renamed file is uploaded under its new path and the vanished path leaves the store', { timeout: patience(15_000) }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki14r', serverName: 'second-brain', limits: FAST_LIMITS });
    const files = writeProjectFiles(st.dir, { 'src/old-name.ts': 'export const x = 1;\n', 'src/keep.ts': 'export const k = 1;\n' });
    const first = await m.attachFiles({ sessionId: 's', files, signal: AbortSignal.timeout(patience(10_000)) });
    renameSync(join(st.dir, 'src/old-name.ts'), join(st.dir, 'src/new-name.ts'));
    const renamed = writeProjectFiles(st.dir, { 'src/new-name.ts': 'export const x = 1;\n' });
    const second = await m.attachFiles({ sessionId: 's', files: [renamed[0]!, files[1]!], signal: AbortSignal.timeout(patience(10_000)) });
    assert.equal(second.uploaded, 1);
    assert.deepEqual(storeFileNames(f.fake, first.vectorStoreId), ['keep.ts', 'new-name.ts']);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-14: two managers with separate connections and clients race on overlapping files; each file is uploaded once', { timeout: patience(20_000) }, async () => {
  const f = startFake({ account: { uploadLatencyMs: 15 } });
  const st = tempState();
  try {
    const files = manyFiles(st.dir, 45);
    const mk = (id: string) => new VectorStoreManager({ client: f.client(`sk-test-${id}`), db: st.open(), instanceId: id, serverName: 'second-brain', limits: FAST_LIMITS });
    const [a, b] = [mk('proc-a'), mk('proc-b')];
    const slice = (from: number, to: number): AttachFile[] => files.slice(from, to).map((x) => ({ ...x }));
    // 0–29 and 15–44: files 15–29 are wanted by both at the same moment.
    const [ra, rb] = await Promise.all([
      a.attachFiles({ sessionId: 'sa', files: slice(0, 30), signal: AbortSignal.timeout(patience(15_000)) }),
      b.attachFiles({ sessionId: 'sb', files: slice(15, 45), signal: AbortSignal.timeout(patience(15_000)) }),
    ]);
    assert.deepEqual([ra.failed, rb.failed], [[], []]);
    const uploads = entriesOf(f.fake, 'files.create');
    const perName = new Map<string, number>();
    for (const e of uploads) perName.set(e.fileName!, (perName.get(e.fileName!) ?? 0) + 1);
    assert.equal(uploads.length, 45, 'each file uploaded once across both');
    assert.deepEqual([...perName.values()].filter((n) => n > 1), []);
    assert.ok(ra.uploaded > 0 && rb.uploaded > 0, `both uploaded: ${ra.uploaded} + ${rb.uploaded}`);
    assert.equal(ra.uploaded + rb.uploaded, 45);
    assert.ok(ra.stats.waitedForOthers + rb.stats.waitedForOthers + ra.reused.length + rb.reused.length >= 15, 'the shared files were waited for or reused');
    assert.equal(f.fake.state.filesOf(ra.vectorStoreId).size, 30);
    assert.equal(f.fake.state.filesOf(rb.vectorStoreId).size, 30);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-14: a second Node process sharing the state dir does not upload what the first is uploading', { timeout: patience(30_000) }, async () => {
  const lb = await startLoopbackFake({ fakeOptions: { account: { uploadLatencyMs: 30 } } });
  const st = tempState();
  try {
    const files = manyFiles(st.dir, 36);
    // The child wants 0–23, the parent 12–35: 12–23 are wanted by both at once.
    const child = fork(new URL('../../test/support/vector-child-attach.ts', import.meta.url), [JSON.stringify({
      dbPath: st.dbPath, baseURL: lb.baseUrls.openai, instanceId: 'child', sessionId: 'child-session', files: files.slice(0, 24),
      limits: FAST_LIMITS, waitForGo: true,
    } satisfies ChildAttachArgs)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const messages: Array<{ type: string; result?: AttachResult; message?: string }> = [];
    child.on('message', (m) => messages.push(m as never));
    const exited = once(child, 'exit');
    await new Promise<void>((resolve) => child.once('message', () => resolve()));

    const client = new OpenAI({ apiKey: 'sk-test-parent', baseURL: lb.baseUrls.openai, maxRetries: 0 });
    const m = new VectorStoreManager({ client, db: st.db, instanceId: 'parent', serverName: 'second-brain', limits: FAST_LIMITS });
    child.send('go');
    const mine = await m.attachFiles({ sessionId: 'parent-session', files: files.slice(12).map((x) => ({ ...x })), signal: AbortSignal.timeout(patience(20_000)) });
    await exited;
    const theirs = messages.find((x) => x.type === 'done')?.result;
    assert.ok(theirs, `child failed: ${JSON.stringify(messages.find((x) => x.type === 'error'))}`);
    const uploads = lb.fake.journal.entries().filter((e) => e.route === 'files.create');
    assert.equal(uploads.length, 36, 'each file uploaded once across the two processes');
    assert.equal(new Set(uploads.map((e) => e.fileName)).size, 36);
    assert.equal(mine.uploaded + theirs.uploaded, 36);
    assert.equal(mine.attached.length, 24);
    assert.equal(theirs.attached.length, 24);
    process.stderr.write(`# two processes: parent uploaded ${mine.uploaded} (waited for ${mine.stats.waitedForOthers}), child uploaded ${theirs.uploaded} (waited for ${theirs.stats.waitedForOthers})\n`);
    assert.equal(new Set(uploads.map((e) => e.keyLast4)).size, 2, 'both processes uploaded: they really ran at once');
  } finally {
    await lb.close();
    st.cleanup();
  }
});
