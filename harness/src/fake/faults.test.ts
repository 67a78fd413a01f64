import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { FaultRegistry, sampleLatencyMs } from './faults.ts';
import { delay, sdk, stopFakeServer, TEST_KEY, useFake } from './test-helpers.ts';
import { patience } from '../reference/patience.ts';
import { judgeLatency } from '../reference/latency-test.ts';
import { MAX_JUDGING_ATTEMPTS } from '../reference/defaults.ts';

after(stopFakeServer);

const ABORT_BOUND_MS = 50;

describe('faults against the real openai SDK (in-process msw)', () => {
  test('hang: ends only when the SDK aborts; the journal records the abort', { timeout: patience(5_000 * MAX_JUDGING_ATTEMPTS) }, async (t) => {
    // The abort reaches the fake within 50 ms beyond the machine's own stall: the SDK, msw
    // and the fake share this process's loop, so the reference's loop stall stands for it.
    await judgeLatency(t, { label: 'abort → fake sees it', boundMs: ABORT_BOUND_MS, compareWith: 'own-loop' }, async () => {
      const fake = useFake();
      fake.faults.add({ route: 'vector_stores.delete', fault: { type: 'hang' } });
      const client = sdk(fake);
      const controller = new AbortController();
      const pending = client.vectorStores.delete('vs_any', { signal: controller.signal });
      const started = await fake.journal.waitFor((e) => e.route === 'vector_stores.delete', patience(1_000));
      await delay(30);
      const abortedAt = performance.now();
      controller.abort();
      await assert.rejects(pending, OpenAI.APIUserAbortError);
      const ended = await fake.journal.waitFor((e) => e.id === started.id && e.aborted, patience(1_000));
      assert.equal(ended.aborted, true);
      assert.equal(ended.status, null);
      return ended.abortedAtMs! - abortedAt;
    });
  });

  test('faults in force when a request arrived apply to it, even if cleared while it is being checked', { timeout: patience(5_000) }, async () => {
    // A driver's journal trigger fires on the arrival, and its next step may clear the
    // faults (a scenario's post-checks do) while the request is still checked against the
    // spec: the hang set before the request must still hold it.
    const fake = useFake();
    const client = sdk(fake, 'xai');
    // A first request warms the spec validator, so the next one's check is quick but still
    // off the thread: without the snapshot its faults would be chosen after the clear below.
    await client.chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'warm' }] });
    fake.faults.add({ route: 'chat.xai', fault: { type: 'hang' } });
    const controller = new AbortController();
    const pending = client.chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'x' }] }, { signal: controller.signal });
    const outcome = pending.then(() => 'answered', () => 'failed');
    await fake.journal.waitFor((e) => e.route === 'chat.xai' && e.routeCall === 2, patience(1_000));
    fake.faults.clear();
    assert.equal(await Promise.race([outcome, delay(300).then(() => 'hanging')]), 'hanging');
    controller.abort();
    assert.equal(await outcome, 'failed');
    assert.equal(fake.journal.entries().filter((e) => e.route === 'chat.xai').at(-1)?.aborted, true);
  });

  test('hang: the SDK timeout aborts it too (KI-05 deadline)', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'chat.xai', fault: { type: 'hang' } });
    const client = new OpenAI({ apiKey: TEST_KEY, baseURL: fake.baseUrls.xai, maxRetries: 0, timeout: 100 });
    await assert.rejects(client.chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'x' }] }), OpenAI.APIConnectionTimeoutError);
    const entry = await fake.journal.waitFor((e) => e.aborted, patience(1_000));
    assert.equal(entry.route, 'chat.xai');
  });

  test('stall-after-headers: headers arrive, the body never does, abort ends it', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'chat.gemini', fault: { type: 'stall-after-headers' } });
    const controller = new AbortController();
    const res = await fetch(`${fake.baseUrls.gemini}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-2.5-pro', messages: [{ role: 'user', content: 'x' }] }),
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    assert.ok(res.headers.get('x-ratelimit-remaining-requests'));
    const body = res.text();
    const raced = await Promise.race([body.then(() => 'body'), delay(100).then(() => 'stalled')]);
    assert.equal(raced, 'stalled');
    controller.abort();
    await assert.rejects(body);
    const entry = await fake.journal.waitFor((e) => e.aborted, patience(1_000));
    assert.equal(entry.status, 200);

    // The SDK, streaming, gets its stream object and then waits on the body until aborted.
    const client = sdk(fake, 'gemini');
    const sdkController = new AbortController();
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true }, { signal: sdkController.signal });
    setTimeout(() => sdkController.abort(), 50).unref();
    const chunks: unknown[] = [];
    // An abort ends the SDK's iteration quietly or with an abort error; either way, no data.
    await (async () => {
      for await (const c of stream) chunks.push(c);
    })().catch((e) => assert.ok(e instanceof OpenAI.APIUserAbortError || (e as Error).name === 'AbortError'));
    assert.equal(chunks.length, 0);
  });

  test('latency: fixed delay is applied; jitter is seeded and repeatable', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'files.list', calls: [1], fault: { type: 'latency', ms: 150 } });
    const client = sdk(fake);
    const t0 = performance.now();
    await client.files.list();
    assert.ok(performance.now() - t0 >= 145);
    await client.files.list();
    assert.deepEqual(fake.journal.entries().map((e) => e.faults), [['latency'], []], 'call 2 is not delayed');

    const sample = (seed: number) => {
      const registry = new FaultRegistry(seed);
      registry.add({ route: '*', fault: { type: 'latency', ms: 10, jitterMs: 100, distribution: { kind: 'exponential', meanMs: 50 } } });
      return Array.from({ length: 5 }, () => {
        const [selected] = registry.select('files.create', {});
        return selected && selected.fault.type === 'latency' ? sampleLatencyMs(selected.fault, selected.prng) : -1;
      });
    };
    assert.deepEqual(sample(7), sample(7));
    assert.notDeepEqual(sample(7), sample(8));
    assert.ok(sample(7).every((ms) => ms >= 10));
  });

  test('degrade multiplies latency on the matched calls', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'files.create', fault: { type: 'latency', ms: 20 } });
    fake.faults.add({ route: 'files.create', fault: { type: 'degrade', multiplier: 6.5 } });
    const t0 = performance.now();
    await sdk(fake).files.create({ file: new File(['x'], 'x.txt'), purpose: 'assistants' });
    assert.ok(performance.now() - t0 >= 125);
  });

  test('drip: the body arrives slowly, in pieces', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'chat.xai', fault: { type: 'drip', intervalMs: 10, chunkBytes: 64 } });
    const t0 = performance.now();
    const c = await sdk(fake, 'xai').chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'x' }] });
    const elapsed = performance.now() - t0;
    assert.match(c.choices[0]?.message.content ?? '', /Fake xai answer/);
    // The JSON body is several hundred bytes: at 64 bytes per 10 ms it takes well over 40 ms.
    assert.ok(elapsed >= 40, `took ${elapsed} ms`);
  });

  test('truncate: an SSE stream cut cleanly lacks its terminal event; cut with an error throws', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'responses.create', calls: [1], fault: { type: 'truncate', afterEvents: 5 } });
    fake.faults.add({ route: 'responses.create', calls: [2], fault: { type: 'truncate', afterEvents: 5, mode: 'error' } });
    const client = sdk(fake);
    const types: string[] = [];
    for await (const event of await client.responses.create({ model: 'o3', input: 'x', stream: true })) types.push(event.type);
    assert.equal(types.length, 5);
    assert.ok(!types.includes('response.completed'));
    const stream = await client.responses.create({ model: 'o3', input: 'x', stream: true });
    await assert.rejects(async () => {
      for await (const _event of stream) {
        // drain
      }
    });
  });

  test('network-error: the SDK sees a connection error; afterHandler still changes state', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'vector_stores.create', calls: [1], fault: { type: 'network-error' } });
    fake.faults.add({ route: 'vector_stores.create', calls: [2], fault: { type: 'network-error', afterHandler: true } });
    const client = sdk(fake);
    await assert.rejects(client.vectorStores.create({}), OpenAI.APIConnectionError);
    assert.equal(fake.state.vectorStores.size, 0);
    await assert.rejects(client.vectorStores.create({}), OpenAI.APIConnectionError);
    assert.equal(fake.state.vectorStores.size, 1, 'the orphan exists upstream');
    assert.equal(fake.journal.entries()[0]?.status, 0);
  });

  test('status: 5xx with server_error body; 401 with a given code', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'files.create', calls: [1], fault: { type: 'status', status: 500 } });
    fake.faults.add({ route: 'files.create', calls: [2], fault: { type: 'status', status: 503 } });
    fake.faults.add({ route: 'files.create', calls: [3], fault: { type: 'status', status: 401, code: 'invalid_api_key', message: 'Incorrect API key provided.' } });
    const client = sdk(fake);
    const upload = () => client.files.create({ file: new File(['x'], 'x.txt'), purpose: 'assistants' });
    const e500 = await upload().catch((e) => e);
    assert.ok(e500 instanceof OpenAI.InternalServerError);
    assert.equal(e500.status, 500);
    assert.equal(e500.code, 'server_error');
    assert.equal((await upload().catch((e) => e)).status, 503);
    const e401 = await upload().catch((e) => e);
    assert.ok(e401 instanceof OpenAI.AuthenticationError);
    assert.equal(e401.code, 'invalid_api_key');
    assert.ok(await upload());
    assert.deepEqual(fake.journal.entries().map((e) => e.errorCode ?? null), ['server_error', 'server_error', 'invalid_api_key', null]);
  });

  test('rate-limit: 429 carries retry-after and retry-after-ms; insufficient_quota does not', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'responses.create', calls: [1], fault: { type: 'rate-limit', retryAfterS: 3, retryAfterMs: 2_500 } });
    fake.faults.add({ route: 'responses.create', calls: [2], fault: { type: 'rate-limit', code: 'insufficient_quota' } });
    const client = sdk(fake);
    const e = await client.responses.create({ model: 'o3', input: 'x' }).catch((err) => err);
    assert.ok(e instanceof OpenAI.RateLimitError);
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.equal(e.headers.get('retry-after'), '3');
    assert.equal(e.headers.get('retry-after-ms'), '2500');
    assert.equal(e.headers.get('x-ratelimit-remaining-requests'), '0');
    const q = await client.responses.create({ model: 'o3', input: 'x' }).catch((err) => err);
    assert.ok(q instanceof OpenAI.RateLimitError);
    assert.equal(q.code, 'insufficient_quota');
    assert.equal(q.headers.get('retry-after'), null);
  });

  test('malformed JSON and an HTML 200 make the SDK throw', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    fake.faults.add({ route: 'responses.create', calls: [1], fault: { type: 'malformed-json' } });
    fake.faults.add({ route: 'responses.create', calls: [2], fault: { type: 'html' } });
    fake.faults.add({ route: 'responses.create', calls: [3], fault: { type: 'html', status: 502 } });
    fake.faults.add({ route: 'vector_stores.create', calls: [1], fault: { type: 'html' } });
    const client = sdk(fake);
    await assert.rejects(client.responses.create({ model: 'o3', input: 'x' }), SyntaxError);
    await assert.rejects(client.responses.create({ model: 'o3', input: 'x' }), TypeError);
    await assert.rejects(client.responses.create({ model: 'o3', input: 'x' }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 502);
    // Elsewhere the SDK hands the HTML back as a string: callers must check shapes.
    const html = (await client.vectorStores.create({})) as unknown;
    assert.equal(typeof html, 'string');
    assert.match(String(html), /502 Bad Gateway/);
  });

  test('calls, times and match select which requests a rule hits', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const id = fake.faults.add({ route: 'chat.*', calls: { from: 2, to: 3 }, fault: { type: 'status', status: 500 } });
    fake.faults.add({ route: 'responses.create', match: { model: 'o3-pro' }, times: 1, fault: { type: 'status', status: 502 } });
    const xai = sdk(fake, 'xai');
    const results: number[] = [];
    for (let i = 0; i < 4; i++) results.push(await xai.chat.completions.create({ model: 'g', messages: [{ role: 'user', content: 'x' }] }).then(() => 200, (e) => e.status));
    assert.deepEqual(results, [200, 500, 500, 200]);
    const openai = sdk(fake);
    assert.equal((await openai.responses.create({ model: 'o3', input: 'x' })).status, 'completed');
    assert.equal(await openai.responses.create({ model: 'o3-pro', input: 'x' }).then(() => 200, (e) => e.status), 502);
    assert.equal((await openai.responses.create({ model: 'o3-pro', input: 'x' })).status, 'completed');
    const info = fake.faults.list().find((r) => r.id === id);
    assert.deepEqual([info?.matched, info?.applied], [4, 2]);
    assert.throws(() => fake.faults.add({ route: 'responses.creat' as never, fault: { type: 'hang' } }), /Unknown route/);
    assert.throws(() => fake.faults.add({ route: '*', fault: { type: 'explode' } as never }), /Invalid fault rule/);
    fake.faults.clear();
    assert.deepEqual(fake.faults.list(), []);
  });
});
