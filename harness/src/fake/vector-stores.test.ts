import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createManualClock } from './clock.ts';
import { sdk, stopFakeServer, useFake } from './test-helpers.ts';
import { patience } from '../reference/patience.ts';

after(stopFakeServer);

describe('files and vector stores', () => {
  test('files: upload multipart, retrieve, list, delete', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const f = await client.files.create({ file: new File(['hello world'], 'a.md'), purpose: 'assistants' });
    assert.match(f.id, /^file-/);
    assert.equal(f.filename, 'a.md');
    assert.equal(f.bytes, 11);
    assert.equal(fake.state.files.get(f.id)?.content, 'hello world');
    assert.equal((await client.files.retrieve(f.id)).id, f.id);
    const listed = await client.files.list();
    assert.deepEqual(listed.data.map((x) => x.id), [f.id]);
    assert.equal((await client.files.delete(f.id)).deleted, true);
    await assert.rejects(client.files.retrieve(f.id), OpenAI.NotFoundError);
    assert.equal(fake.journal.entries()[0]?.fileName, 'a.md');
  });

  test('create with metadata, expiry and files; update; delete', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const file = fake.seed.file({ filename: 'x.ts', content: 'const x = 1;' });
    const vs = await client.vectorStores.create({ name: 'sb', metadata: { owner: 'second-brain' }, expires_after: { anchor: 'last_active_at', days: 2 }, file_ids: [file.id] });
    assert.equal(vs.object, 'vector_store');
    assert.deepEqual(vs.metadata, { owner: 'second-brain' });
    assert.equal(vs.expires_at, vs.last_active_at! + 2 * 86_400);
    assert.equal(vs.file_counts.completed, 1);
    const updated = await client.vectorStores.update(vs.id, { metadata: { owner: 'second-brain', lease: '1' } });
    assert.equal(updated.metadata?.lease, '1');
    assert.equal((await client.vectorStores.delete(vs.id)).deleted, true);
    await assert.rejects(client.vectorStores.retrieve(vs.id), OpenAI.NotFoundError);
    await assert.rejects(client.vectorStores.create({ expires_after: { anchor: 'last_active_at', days: 0 } }), OpenAI.BadRequestError);
  });

  test('KI-13: the store limit answers a provider-shaped 400', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    fake.seed.vectorStores(98, { metadata: { owner: 'second-brain' } });
    fake.seed.vectorStores(1, { metadata: { owner: 'someone-else' } });
    await client.vectorStores.create({ name: 'the 100th' });
    const error = await client.vectorStores.create({ name: 'one too many' }).catch((e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.code, 'vector_store_limit_exceeded');
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(fake.state.vectorStores.size, 100);
    fake.faults.add({ route: 'vector_stores.create', times: 1, fault: { type: 'store-limit' } });
    await client.vectorStores.delete([...fake.state.vectorStores.keys()][0]!);
    await assert.rejects(client.vectorStores.create({}), OpenAI.BadRequestError);
    await client.vectorStores.create({});
  });

  test('list: cursor pagination with limit, after, has_more, first_id, last_id', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const seeded = fake.seed.vectorStores(45, (i) => ({ name: `s${i}` }));
    const page = await client.vectorStores.list({ limit: 20 });
    assert.equal(page.data.length, 20);
    assert.equal(page.has_more, true);
    // Newest first, as the real API orders by default.
    assert.equal(page.data[0]?.id, seeded.at(-1)?.id);
    const body = page.getPaginatedItems();
    const raw = (await (await fetch(`${fake.baseUrls.openai}/vector_stores?limit=20&after=${body.at(-1)!.id}`, { headers: { authorization: 'Bearer k' } })).json()) as {
      first_id: string;
      last_id: string;
      has_more: boolean;
    };
    assert.equal(raw.first_id, seeded[24]!.id);
    assert.equal(raw.last_id, seeded[5]!.id);
    assert.equal(raw.has_more, true);
    const all: string[] = [];
    for await (const s of client.vectorStores.list({ limit: 20 })) all.push(s.id);
    assert.equal(all.length, 45);
    assert.equal(new Set(all).size, 45);
    const asc = await client.vectorStores.list({ limit: 5, order: 'asc' });
    assert.deepEqual(asc.data.map((s) => s.id), seeded.slice(0, 5).map((s) => s.id));
    await assert.rejects(client.vectorStores.list({ limit: 101 }), OpenAI.BadRequestError);
  });

  test('file batches: per-file statuses, file_counts, processing time, filters', { timeout: patience(5_000) }, async () => {
    const clock = createManualClock();
    const fake = useFake({ clock, fileProcessingMs: 1_000 });
    const client = sdk(fake);
    const files = ['a.ts', 'b.ts', 'c.ts', 'd.ts'].map((filename) => fake.seed.file({ filename, content: filename }));
    const vs = await client.vectorStores.create({ name: 'batch' });
    fake.faults.add({ route: 'vector_stores.file_batches.create', fault: { type: 'file-status', status: 'failed', fileIndexes: [1] } });
    fake.faults.add({ route: 'vector_stores.file_batches.create', fault: { type: 'file-status', status: 'cancelled', fileNames: ['d.ts'] } });
    const batch = await client.vectorStores.fileBatches.create(vs.id, { file_ids: files.map((f) => f.id) });
    assert.equal(batch.status, 'in_progress');
    assert.deepEqual(batch.file_counts, { in_progress: 4, completed: 0, failed: 0, cancelled: 0, total: 4 });
    assert.equal((await client.vectorStores.retrieve(vs.id)).status, 'in_progress');
    clock.advance(1_000);
    const done = await client.vectorStores.fileBatches.retrieve(batch.id, { vector_store_id: vs.id });
    assert.equal(done.status, 'completed');
    // Both rules apply, each to the files it selects.
    assert.deepEqual(done.file_counts, { in_progress: 0, completed: 2, failed: 1, cancelled: 1, total: 4 });
    const listed = await client.vectorStores.fileBatches.listFiles(batch.id, { vector_store_id: vs.id });
    const byId = new Map(listed.data.map((f) => [f.id, f]));
    assert.equal(byId.get(files[1]!.id)?.status, 'failed');
    assert.equal(byId.get(files[1]!.id)?.last_error?.code, 'server_error');
    const failed = await client.vectorStores.files.list(vs.id, { filter: 'failed' });
    assert.deepEqual(failed.data.map((f) => f.id), [files[1]!.id]);
  });

  test('file-status cancelled, batch-stuck and cancel', { timeout: patience(5_000) }, async () => {
    const clock = createManualClock();
    const fake = useFake({ clock });
    const client = sdk(fake);
    const files = [1, 2, 3].map((i) => fake.seed.file({ filename: `f${i}.txt`, content: `file ${i}` }));
    const vs = await client.vectorStores.create({});
    fake.faults.add({ route: 'vector_stores.file_batches.create', calls: [1], fault: { type: 'file-status', status: 'cancelled', fileNames: ['f3.txt'] } });
    fake.faults.add({ route: 'vector_stores.file_batches.create', calls: [2], fault: { type: 'batch-stuck' } });
    const first = await client.vectorStores.fileBatches.create(vs.id, { file_ids: files.map((f) => f.id) });
    assert.equal(first.file_counts.cancelled, 1);
    assert.equal(first.file_counts.completed, 2);
    const stuck = await client.vectorStores.fileBatches.create(vs.id, { file_ids: [files[0]!.id] });
    clock.advance(3_600_000);
    assert.equal((await client.vectorStores.fileBatches.retrieve(stuck.id, { vector_store_id: vs.id })).status, 'in_progress');
    const cancelled = await client.vectorStores.fileBatches.cancel(stuck.id, { vector_store_id: vs.id });
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.file_counts.cancelled, 1);
    const f = await client.vectorStores.files.retrieve(files[0]!.id, { vector_store_id: vs.id });
    assert.equal(f.status, 'cancelled');
  });

  test('store files: attach, retrieve, delete; unknown file is 404', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const file = fake.seed.file({ filename: 'z.txt', content: 'zzz' });
    const vs = await client.vectorStores.create({});
    const attached = await client.vectorStores.files.create(vs.id, { file_id: file.id, attributes: { path: 'z.txt' } });
    assert.equal(attached.status, 'completed');
    assert.equal(attached.vector_store_id, vs.id);
    assert.equal((await client.vectorStores.files.delete(file.id, { vector_store_id: vs.id })).deleted, true);
    await assert.rejects(client.vectorStores.files.create(vs.id, { file_id: 'file-missing' }), OpenAI.NotFoundError);
  });

  test('search returns deterministic keyword matches from completed files', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const vs = fake.seed.vectorStore({
      files: [
        { filename: 'auth.ts', content: 'function login(user) { return token; }' },
        { filename: 'db.ts', content: 'function query(sql) { return rows; }' },
        { filename: 'both.ts', content: 'login then query' },
      ],
    });
    const page = await client.vectorStores.search(vs.id, { query: 'login query' });
    const results = page.data.map((r) => [r.filename, r.score]);
    assert.deepEqual(results, [['both.ts', 1], ['auth.ts', 0.5], ['db.ts', 0.5]]);
    assert.equal(page.data[0]?.content[0]?.type, 'text');
    assert.match(page.data[0]?.content[0]?.text ?? '', /login then query/);
    assert.deepEqual((await client.vectorStores.search(vs.id, { query: 'nothing here' })).data, []);
  });
});
