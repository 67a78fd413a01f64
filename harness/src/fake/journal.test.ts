import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Journal } from './journal.ts';
import { sdk, stopFakeServer, useFake } from './test-helpers.ts';
import { patience } from '../reference/patience.ts';

after(stopFakeServer);

describe('journal', () => {
  test('records route, key fields, key last 4, correlation header and timing', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake, 'openai', 'sk-secret-value-abcd');
    const first = await client.responses.create({ model: 'o3', input: 'x' });
    await client.responses.create({ model: 'o3-pro', input: 'y', previous_response_id: first.id, background: true }, { headers: { 'x-sb-call': 'call-42' } });
    await client.files.create({ file: new File(['data'], 'notes.md'), purpose: 'assistants' });
    const [a, b, c] = fake.journal.entries();
    assert.equal(a?.route, 'responses.create');
    assert.equal(a?.path, '/responses');
    assert.equal(a?.keyLast4, 'abcd');
    assert.equal(a?.requestId, first._request_id);
    assert.ok(!JSON.stringify(fake.journal.entries()).includes('secret'), 'never the whole key');
    assert.equal(b?.previousResponseId, first.id);
    assert.equal(b?.background, true);
    assert.equal(b?.model, 'o3-pro');
    assert.equal(b?.call, 'call-42');
    assert.equal(b?.routeCall, 2);
    assert.equal(c?.fileName, 'notes.md');
    assert.equal(c?.route, 'files.create');
    for (const e of [a, b, c]) {
      assert.ok(e && e.endMs !== null && e.endMs >= e.startMs);
      assert.ok(e && e.endWallMs !== null && e.endWallMs >= e.startWallMs);
      assert.equal(e?.status, 200);
    }
  });

  test('waitFor resolves on a later event and lets a driver act mid-run', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'files.create', fault: { type: 'latency', ms: 100 } });
    const client = sdk(fake);
    const controller = new AbortController();
    // "Cancel when the third upload started."
    void fake.journal.waitFor((e) => e.route === 'files.create' && e.routeCall === 3, patience(2_000)).then(() => controller.abort());
    const results = await Promise.allSettled(
      [0, 30, 60, 300].map(async (startAfterMs, i) => {
        await new Promise((r) => setTimeout(r, startAfterMs));
        return client.files.create({ file: new File(['x'], `f${i + 1}.txt`), purpose: 'assistants' }, { signal: controller.signal });
      }),
    );
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected', 'rejected']);
    const entries = fake.journal.entries();
    assert.equal(entries.length, 3, 'the fourth upload never started');
    assert.ok(entries.every((e) => e.aborted));
    await assert.rejects(fake.journal.waitFor(() => false, 20), /no matching entry within 20 ms/);
  });

  test('is bounded and counts drops; listeners that throw are contained', { timeout: patience(2_000) }, () => {
    const journal = new Journal(2);
    journal.on('request', () => {
      throw new Error('listener bug');
    });
    for (let i = 0; i < 5; i++) {
      journal.start({ requestId: `req_${i}`, route: 'files.list', provider: 'openai', method: 'GET', path: '/files', routeCall: i + 1, startMs: i, startWallMs: i, keyLast4: null, call: null });
    }
    assert.deepEqual(journal.entries().map((e) => e.id), [4, 5]);
    assert.equal(journal.dropped, 3);
    assert.equal(journal.listenerErrors, 5);
    assert.deepEqual(journal.since(4).map((e) => e.id), [5]);
  });
});
