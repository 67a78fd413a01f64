/**
 * KI-13: the project's store limit, and orphaned stores. The janitor deletes only this
 * server's debris (after a SIGKILL mid-upload too) and never another owner's stores;
 * near the limit the manager evicts its own least-recently-used store, or fails fast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import OpenAI from 'openai';
import { startLoopbackFake, type FakeApi } from '@second-brain/harness';
import { ErrorCode, SbError } from '../errors.ts';
import { withTransaction } from '../state/db.ts';
import { VectorStoreManager } from './manager.ts';
import { Janitor } from './janitor.ts';
import { HOST } from './ownership.ts';
import { VectorState } from './state.ts';
import type { VectorEvent } from './types.ts';
import type { ChildAttachArgs } from '../../test/support/vector-child-attach.ts';
import { FAST_LIMITS, entriesOf, manyFiles, startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

/** A pid no process has: above Linux's pid_max. */
const DEAD_PID = 4_194_304 + 4242;

function seedForeign(fake: FakeApi): string[] {
  return [
    ...fake.seed.vectorStores(5, (i) => ({ name: `theirs-${i}`, metadata: { owner: 'someone-else' } })),
    // Same owner name, but an instance this state dir never saw: another copy of this server.
    ...fake.seed.vectorStores(2, { metadata: { owner: 'second-brain', kind: 'session', instance: 'elsewhere', session: 'x' } }),
    fake.seed.vectorStore({ name: 'no metadata' }),
  ].map((s) => s.id);
}

test('KI-13: after a SIGKILL halfway through an upload, the janitor returns stores and files to baseline and spares foreign stores', { timeout: patience(40_000) }, async () => {
  const lb = await startLoopbackFake({ fakeOptions: { account: { uploadLatencyMs: 120 } } });
  const st = tempState();
  try {
    const fake = lb.fake;
    const foreign = seedForeign(fake);
    const foreignFile = fake.seed.file({ filename: 'f003.ts', content: 'someone else’s file' });
    const baseline = { stores: fake.state.vectorStores.size, files: fake.state.files.size };

    const child = fork(new URL('../../test/support/vector-child-attach.ts', import.meta.url), [JSON.stringify({
      dbPath: st.dbPath, baseURL: lb.baseUrls.openai, instanceId: 'doomed', sessionId: 'doomed-session',
      files: manyFiles(st.dir, 20), limits: { ...FAST_LIMITS, uploadConcurrencyStart: 3, uploadConcurrencyMax: 3 },
    } satisfies ChildAttachArgs)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const exited = once(child, 'exit');
    // Halfway: some uploads finished, some in flight, nothing attached yet.
    await fake.journal.waitFor((e) => e.route === 'files.create' && e.status === 200 && e.routeCall >= 7, patience(20_000));
    child.kill('SIGKILL');
    await exited;
    await delay(50);
    assert.ok(fake.state.vectorStores.size > baseline.stores, 'the killed process left its store');
    assert.ok(fake.state.files.size > baseline.files, 'and its uploaded files');
    assert.equal(entriesOf(fake, 'vector_stores.file_batches.create').length, 0);

    // The restarted server.
    const client = new OpenAI({ apiKey: 'sk-test-restarted', baseURL: lb.baseUrls.openai, maxRetries: 0 });
    const janitor = new Janitor({ client, db: st.db, instanceId: 'restarted', retryBaseMs: 0 });
    const report = await janitor.runOnce(AbortSignal.timeout(patience(10_000)));
    assert.equal(report.storesDeleted, 1);
    assert.ok(report.filesDeleted >= 6, `deleted ${report.filesDeleted} files`);
    assert.ok(report.leasesReleased >= 1, 'the dead process’s upload claims were released');
    assert.equal(report.foreignStoresSkipped, foreign.length);
    assert.equal(report.pendingDeletes, 0);
    assert.equal(fake.state.vectorStores.size, baseline.stores, 'store count back to baseline');
    assert.equal(fake.state.files.size, baseline.files, 'file count back to baseline');
    for (const id of foreign) assert.ok(fake.state.vectorStores.has(id), `foreign store ${id} kept`);
    assert.ok(fake.state.files.has(foreignFile.id), 'a foreign file with a matching name is kept');
    const state = new VectorState(st.db);
    assert.equal(state.journal().length, 0);
    assert.equal(state.countReadyFiles(), 0);
    assert.equal(state.stores().length, 0);

    // Idempotent: a second run finds nothing.
    const again = await janitor.runOnce(AbortSignal.timeout(patience(10_000)));
    assert.equal(again.storesDeleted + again.filesDeleted, 0);
  } finally {
    await lb.close();
    st.cleanup();
  }
});

test('KI-13: janitor on seeded debris: orphans and idle stores go, a resumable store and foreign ones stay', { timeout: patience(15_000) }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const fake = f.fake;
    const foreign = seedForeign(fake);
    const md = (session: string) => ({ owner: 'second-brain', kind: 'session', instance: 'ghost', session });
    const halfMade = fake.seed.vectorStore({ metadata: md('s1') });
    const unrecorded = fake.seed.vectorStore({ metadata: md('s2'), createdAt: Math.floor(Date.now() / 1000) - 600 });
    const resumable = fake.seed.vectorStore({ metadata: md('s3') });
    const idle = fake.seed.vectorStore({ metadata: md('s4') });
    const memory = fake.seed.vectorStore({ metadata: { owner: 'second-brain', kind: 'memory', instance: 'ghost' } });
    const kept = fake.seed.file({ filename: 'kept.ts', content: 'in the resumable store' });
    const inHalfMade = fake.seed.file({ filename: 'a.ts', content: 'recorded, in the half-made store' });
    const unrecordedFile = fake.seed.file({ filename: 'b.ts', content: 'created, id never recorded' });
    const sameNameOld = fake.seed.file({ filename: 'b.ts', content: 'created, id never recorded' });
    fake.state.files.get(sameNameOld.id)!.createdAt -= 3_600; // an hour before the upload: not ours
    const now = Date.now();
    const s = new VectorState(st.db);
    await withTransaction(st.db, () => {
      s.upsertInstance('ghost', DEAD_PID, HOST, now - 1_000);
      s.insertStore({ store_id: halfMade.id, kind: 'session', scope: 's1', instance_id: 'ghost', created_at: now - 1_000, last_used_at: now - 1_000 });
      s.insertStore({ store_id: resumable.id, kind: 'session', scope: 's3', instance_id: 'ghost', created_at: now - 1_000, last_used_at: now - 1_000 });
      s.markStoreCompleted(resumable.id, now - 1_000);
      s.insertStore({ store_id: idle.id, kind: 'session', scope: 's4', instance_id: 'ghost', created_at: now - 200_000_000, last_used_at: now - 100_000_000 });
      s.markStoreCompleted(idle.id, now - 100_000_000);
      s.claimFile('sha-a', 'a.ts', 'ghost', 10, now, 60_000);
      s.markFileReady('sha-a', 'a.ts', 'ghost', inHalfMade.id);
      s.putStoreFile(halfMade.id, 'a.ts', 'sha-a', inHalfMade.id, null, 'pending', now);
      s.claimFile('sha-k', 'kept.ts', 'ghost', 10, now, 60_000);
      s.markFileReady('sha-k', 'kept.ts', 'ghost', kept.id);
      s.putStoreFile(resumable.id, 'kept.ts', 'sha-k', kept.id, null, 'attached', now);
      s.claimFile('sha-b', 'b.ts', 'ghost', fake.state.files.get(unrecordedFile.id)!.bytes, now, 60_000);
      s.journalStart('ghost', 'sha-b', 'b.ts', 'b.ts', fake.state.files.get(unrecordedFile.id)!.bytes, now - 500);
      s.tryLease('store:session:s9', 'ghost', now, 60_000);
    });

    const janitor = new Janitor({ client: f.client(), db: st.db, instanceId: 'me', retryBaseMs: 0 });
    const report = await janitor.runOnce(AbortSignal.timeout(patience(10_000)));
    const alive = (id: string) => fake.state.vectorStores.has(id);
    assert.ok(!alive(halfMade.id), 'half-made store of a dead process deleted');
    assert.ok(!alive(unrecorded.id), 'store created but never recorded deleted');
    assert.ok(!alive(idle.id), 'store idle past its TTL deleted');
    assert.ok(alive(resumable.id), 'a completed, recently used store stays for its session');
    assert.ok(alive(memory.id), 'the project memory store is never the janitor’s');
    for (const id of foreign) assert.ok(alive(id), 'foreign store kept');
    assert.ok(!fake.state.files.has(inHalfMade.id), 'file of the deleted store deleted');
    assert.ok(!fake.state.files.has(unrecordedFile.id), 'file the interrupted upload created deleted');
    assert.ok(fake.state.files.has(sameNameOld.id), 'a same-named file from outside the upload window kept');
    assert.ok(fake.state.files.has(kept.id));
    assert.equal(report.storesDeleted, 3);
    assert.equal(report.filesDeleted, 2);
    assert.equal(report.orphanFilesFound, 1);
    assert.equal(report.journalResolved, 1);
    assert.equal(report.leasesReleased, 2, 'the dead claim and the dead lease');
    assert.equal(report.foreignStoresSkipped, foreign.length);
    assert.equal(entriesOf(fake, 'vector_stores.delete').length, 3);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-13: near the limit the least-recently-used own store is evicted, never a foreign one', { timeout: patience(15_000) }, async () => {
  const f = startFake({ storeLimit: 10 });
  const st = tempState();
  try {
    const events: VectorEvent[] = [];
    const m = new VectorStoreManager({
      client: f.client(), db: st.db, instanceId: 'evict', serverName: 'second-brain',
      limits: { ...FAST_LIMITS, storeLimit: 10, storeReserve: 1 }, onEvent: (e) => events.push(e),
    });
    const foreign = f.fake.seed.vectorStores(3, { metadata: { owner: 'someone-else' } }).map((x) => x.id);
    const files = manyFiles(st.dir, 2);
    const mine: string[] = [];
    for (let i = 0; i < 6; i++) {
      mine.push((await m.attachFiles({ sessionId: `s${i}`, files, signal: AbortSignal.timeout(patience(5_000)) })).vectorStoreId);
      await delay(5);
    }
    // Session s0 comes back: it is now the most recent, s1 the least.
    await m.attachFiles({ sessionId: 's0', files, signal: AbortSignal.timeout(patience(5_000)) });
    assert.equal(f.fake.state.vectorStores.size, 9);
    const fresh = await m.attachFiles({ sessionId: 'new', files, signal: AbortSignal.timeout(patience(5_000)) });
    assert.deepEqual(fresh.failed, []);
    assert.ok(!f.fake.state.vectorStores.has(mine[1]!), 'the LRU store (s1) was evicted');
    for (const id of [mine[0]!, ...mine.slice(2)]) assert.ok(f.fake.state.vectorStores.has(id));
    for (const id of foreign) assert.ok(f.fake.state.vectorStores.has(id));
    assert.equal(f.fake.state.vectorStores.size, 9, 'stays one below the limit');
    assert.ok(events.some((e) => e.type === 'store_evicted' && e.storeId === mine[1] && e.reason === 'lru'));
    // Stores carry the provider-side expiry backstop and ownership metadata.
    const rec = f.fake.state.vectorStores.get(fresh.vectorStoreId)!;
    assert.deepEqual(rec.expiresAfter, { anchor: 'last_active_at', days: 2 });
    assert.deepEqual(rec.metadata, { owner: 'second-brain', kind: 'session', instance: 'evict', session: 'new' });
    // The evicted store's files are no longer used by s1's store but still by others: not deleted.
    assert.equal(f.fake.state.files.size, 2);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-13: when only foreign stores fill the project, the call fails fast with SB_ERR_STORE_LIMIT', { timeout: patience(10_000) }, async () => {
  const f = startFake({ storeLimit: 5 });
  const st = tempState();
  try {
    f.fake.seed.vectorStores(5, { metadata: { owner: 'someone-else' } });
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'full', serverName: 'second-brain', limits: { ...FAST_LIMITS, storeLimit: 5 } });
    const started = performance.now();
    await assert.rejects(
      m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 3), signal: AbortSignal.timeout(patience(5_000)) }),
      (e: unknown) => {
        assert.ok(e instanceof SbError);
        assert.equal(e.code, ErrorCode.STORE_LIMIT);
        assert.match(e.message, /holds 5 of its 5 vector stores \(5 belong to other owners\)/);
        assert.match(e.message, /Delete unused vector stores/);
        return true;
      },
    );
    assert.ok(performance.now() - started < 1_000, 'fails fast');
    assert.equal(entriesOf(f.fake, 'vector_stores.create').length, 0, 'no doomed create was sent');
    assert.equal(entriesOf(f.fake, 'files.create').length, 0, 'nothing uploaded for a store that cannot exist');
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-13: the provider’s own limit error (lower than configured) also ends in SB_ERR_STORE_LIMIT', { timeout: patience(10_000) }, async () => {
  const f = startFake({ storeLimit: 3 });
  const st = tempState();
  try {
    f.fake.seed.vectorStores(3, { metadata: { owner: 'someone-else' } });
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'full2', serverName: 'second-brain', limits: FAST_LIMITS });
    await assert.rejects(
      m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 1), signal: AbortSignal.timeout(patience(5_000)) }),
      (e: unknown) => e instanceof SbError && e.code === ErrorCode.STORE_LIMIT,
    );
    assert.equal(entriesOf(f.fake, 'vector_stores.create').length, 1, 'one refused create, no retry loop');
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-13: a limit error while others free stores meanwhile: the create is retried, not failed (a janitor pass racing the call)', { timeout: patience(10_000) }, async () => {
  const f = startFake({ storeLimit: 10 });
  const st = tempState();
  try {
    const foreign = f.fake.seed.vectorStores(8, { metadata: { owner: 'someone-else' } }).map((x) => x.id);
    // The provider refuses the first create; as it does, someone else deletes two of the stores.
    f.fake.faults.add({ route: 'vector_stores.create', times: 1, fault: { type: 'store-limit' } });
    const off = f.fake.journal.on('request', (e) => {
      if (e.route !== 'vector_stores.create') return;
      off();
      for (const id of foreign.slice(0, 2)) f.fake.state.vectorStores.delete(id);
    });
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'racing', serverName: 'second-brain', limits: { ...FAST_LIMITS, storeLimit: 10, storeReserve: 1 } });
    const r = await m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 2), signal: AbortSignal.timeout(patience(5_000)) });
    assert.ok(r.vectorStoreId, 'the call got its store');
    const creates = entriesOf(f.fake, 'vector_stores.create');
    assert.deepEqual(creates.map((e) => e.status), [400, 200], 'one refused create, then one retry that succeeded');
    assert.equal(entriesOf(f.fake, 'vector_stores.delete').length, 0, 'no store of anyone was evicted for it');
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-13: 98 orphaned stores of a dead instance plus 5 foreign ones: the call evicts orphans to fit, the janitor clears the rest', { timeout: patience(20_000) }, async () => {
  const f = startFake({ storeLimit: 100 });
  const st = tempState();
  try {
    const fake = f.fake;
    const foreign = fake.seed.vectorStores(5, (i) => ({ metadata: { owner: 'someone-else', n: String(i) } })).map((x) => x.id);
    const orphans = fake.seed.vectorStores(98, (i) => ({ metadata: { owner: 'second-brain', kind: 'session', instance: 'ghost', session: `old-${i}` } })).map((x) => x.id);
    await withTransaction(st.db, () => new VectorState(st.db).upsertInstance('ghost', DEAD_PID, HOST, Date.now() - 60_000));
    assert.equal(fake.state.vectorStores.size, 103);

    const client = f.client();
    const m = new VectorStoreManager({ client, db: st.db, instanceId: 'live', serverName: 'second-brain', limits: FAST_LIMITS });
    const r = await m.attachFiles({ sessionId: 'now', files: manyFiles(st.dir, 3), signal: AbortSignal.timeout(patience(10_000)) });
    assert.deepEqual(r.failed, []);
    assert.ok(fake.state.vectorStores.size <= 99, `${fake.state.vectorStores.size} stores after the call`);
    assert.equal(entriesOf(fake, 'vector_stores.create').filter((e) => e.status !== 200).length, 0, 'no create ran into the limit');

    const report = await new Janitor({ client, db: st.db, instanceId: 'live', retryBaseMs: 0, deleteConcurrency: 4 }).runOnce(AbortSignal.timeout(patience(10_000)));
    assert.deepEqual([...fake.state.vectorStores.keys()].sort(), [...foreign, r.vectorStoreId].sort(), 'only foreign stores and the live one remain');
    assert.equal(report.foreignStoresSkipped, 5);
    assert.equal(orphans.filter((id) => fake.state.vectorStores.has(id)).length, 0);
  } finally {
    f.close();
    st.cleanup();
  }
});
