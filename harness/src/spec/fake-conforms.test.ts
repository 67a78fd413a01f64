import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toFile } from 'openai';
import { formatViolations } from './oracle.ts';
import { sdk, stopFakeServer, useFake, delay } from '../fake/test-helpers.ts';
import type { FakeApi } from '../fake/index.ts';
import { patience } from '../reference/patience.ts';

after(stopFakeServer);

function violations(fake: FakeApi): string {
  return formatViolations(fake.journal.entries().flatMap((e) => e.specViolations ?? []));
}

describe('the fake conforms to the OpenAI spec', () => {
  test('every route, success and error bodies, sync, background and streamed', { timeout: patience(20_000) }, async () => {
    const fake = useFake({ specValidation: 'record', background: { queuedMs: 5, inProgressMs: 5 } });
    const client = sdk(fake);
    const file = await client.files.create({ file: await toFile(Buffer.from('export const a = 1;\n'), 'a.ts'), purpose: 'assistants' });
    await client.files.retrieve(file.id);
    await client.files.list();
    await client.files.list({ limit: 5000 });
    const store = await client.vectorStores.create({ name: 'conform', expires_after: { anchor: 'last_active_at', days: 1 }, metadata: { owner: 'x' } });
    await client.vectorStores.list({ limit: 100 });
    await client.vectorStores.retrieve(store.id);
    await client.vectorStores.update(store.id, { name: 'renamed' });
    await client.vectorStores.files.create(store.id, { file_id: file.id });
    await client.vectorStores.files.list(store.id);
    await client.vectorStores.files.retrieve(file.id, { vector_store_id: store.id });
    const batch = await client.vectorStores.fileBatches.create(store.id, { file_ids: [file.id] });
    await client.vectorStores.fileBatches.retrieve(batch.id, { vector_store_id: store.id });
    await client.vectorStores.fileBatches.listFiles(batch.id, { vector_store_id: store.id });
    await client.vectorStores.fileBatches.cancel(batch.id, { vector_store_id: store.id }).catch(() => {});
    await client.vectorStores.search(store.id, { query: 'export' });

    const sync = await client.responses.create({ model: 'o3', instructions: 'x', input: 'hello', reasoning: { effort: 'high' }, tools: [{ type: 'file_search', vector_store_ids: [store.id] }] });
    await client.responses.create({ model: 'gpt-4.1', input: 'json', temperature: 0.2, previous_response_id: sync.id, text: { format: { type: 'json_schema', name: 'output', schema: { type: 'object' }, strict: false } } });
    const bg = await client.responses.create({ model: 'o3-pro', input: 'long', background: true });
    await client.responses.retrieve(bg.id);
    await delay(20);
    await client.responses.retrieve(bg.id);
    const bg2 = await client.responses.create({ model: 'o3-pro', input: 'long', background: true });
    await client.responses.cancel(bg2.id);
    const stream = await client.responses.create({ model: 'o3', input: 'stream', stream: true });
    for await (const _event of stream) { /* drain */ }
    await client.responses.delete(sync.id);
    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });

    // Error bodies.
    await client.responses.retrieve('resp_missing').catch(() => {});
    await client.responses.create({ model: 'o3', input: 'x', previous_response_id: 'resp_missing' }).catch(() => {});
    await client.files.retrieve('file-missing').catch(() => {});
    fake.faults.add({ route: 'responses.create', calls: [1], fault: { type: 'rate-limit', retryAfterS: 2 } });
    await client.responses.create({ model: 'o3', input: 'x' }).catch(() => {});
    fake.faults.add({ route: 'responses.create', fault: { type: 'status', status: 503 } });
    await client.responses.create({ model: 'o3', input: 'x' }).catch(() => {});
    fake.faults.clear();
    await client.vectorStores.files.delete(file.id, { vector_store_id: store.id });
    await client.vectorStores.delete(store.id);
    await client.files.delete(file.id);

    assert.equal(violations(fake).replaceAll('; ', '\n'), '');
    assert.ok(fake.journal.entries().length >= 30);
  });
});
