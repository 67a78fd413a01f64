import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { connect } from 'node:net';
import { judgeLatency } from '../reference/latency-test.ts';
import { startLoopbackFake } from './loopback.ts';
import type { LoopbackFake } from './loopback.ts';
import { patience } from '../reference/patience.ts';

const KEY = 'sk-loopback-7777';
let lb: LoopbackFake;

before(async () => {
  lb = await startLoopbackFake();
});
after(async () => {
  await lb.close();
});

function client(provider: 'openai' | 'xai' | 'gemini' = 'openai', options: { timeout?: number; apiKey?: string } = {}): OpenAI {
  return new OpenAI({ apiKey: options.apiKey ?? KEY, baseURL: lb.baseUrls[provider], maxRetries: 0, timeout: options.timeout ?? patience(5_000) });
}

async function control(path: string, init?: { method?: string; body?: unknown }): Promise<any> {
  const res = await fetch(`${lb.controlUrl}${path}`, {
    method: init?.method ?? (init?.body ? 'POST' : 'GET'),
    headers: { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return res.json();
}

function reset(): void {
  lb.fake.faults.clear();
  lb.fake.journal.clear();
  lb.connections.setIdleClose(null);
}

describe('loopback fake', () => {
  test('serves the same routes over real sockets under per-provider prefixes', { timeout: patience(5_000) }, async () => {
    reset();
    assert.match(lb.baseUrls.openai, /^http:\/\/127\.0\.0\.1:\d+\/openai\/v1$/);
    assert.match(lb.baseUrls.gemini, /\/gemini\/v1beta\/openai$/);
    const r = await client().responses.create({ model: 'o3', input: 'over loopback SB_MARK_lb' });
    assert.match(r.output_text, /markers=\[SB_MARK_lb\]/);
    const f = await client().files.create({ file: new File(['loop body'], 'lb.txt'), purpose: 'assistants' });
    assert.equal(lb.fake.state.files.get(f.id)?.content, 'loop body');
    const c = await client('xai').chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'x' }] });
    assert.match(c.choices[0]?.message.content ?? '', /Fake xai answer/);
    const types: string[] = [];
    for await (const e of await client().responses.create({ model: 'o3', input: 's', stream: true })) types.push(e.type);
    assert.equal(types.at(-1), 'response.completed');
    const unknown = await fetch(`${lb.url}/nowhere`);
    assert.equal(unknown.status, 404);
  });

  test('control endpoints: journal, faults, account, state, seed', { timeout: patience(5_000) }, async () => {
    reset();
    assert.deepEqual(await control('/health'), { ok: true });
    const added = await control('/faults', { body: { route: 'vector_stores.create', calls: [1], fault: { type: 'status', status: 500 } } });
    assert.deepEqual(added.ids.length, 1);
    await assert.rejects(client().vectorStores.create({}), OpenAI.InternalServerError);
    const seeded = await control('/seed', { body: { vectorStores: [{ count: 2, metadata: { owner: 'other' } }] } });
    assert.equal(seeded.vectorStoreIds.length, 2);
    const state = await control('/state');
    assert.ok(state.vectorStores.length >= 2);
    const journal = await control('/journal');
    assert.equal(journal.entries[0].route, 'vector_stores.create');
    assert.equal(journal.entries[0].status, 500);
    const since = await control(`/journal?since=${journal.entries[0].id}`);
    assert.equal(since.entries.length, journal.entries.length - 1);
    const bad = await fetch(`${lb.controlUrl}/faults`, { method: 'POST', body: JSON.stringify({ route: 'nope', fault: { type: 'hang' } }) });
    assert.equal(bad.status, 400);
    await control('/account', { body: { limits: { requestsPerSecond: 1, burst: 1 } } });
    // Two clients sharing one key share one bucket (KI-18).
    const other = client('openai', { apiKey: 'sk-shared-key-5555' });
    await other.files.list();
    await assert.rejects(client('openai', { apiKey: 'sk-shared-key-5555' }).files.list(), OpenAI.RateLimitError);
    const account = await control('/account?key=sk-shared-key-5555');
    assert.equal(account.bucket.remainingRequests, 0);
    await control('/account', { body: { limits: { requestsPerSecond: 1_000, burst: 10_000 }, reset: true } });
    assert.deepEqual(await control('/faults', { method: 'DELETE' }), { ok: true });
  });

  test('a client abort closes the socket and the journal records it', { timeout: patience(30_000) }, async (t) => {
    // Seen by the fake within 50 ms, held for the excess over a reference process measuring the machine.
    await judgeLatency(t, { label: 'client abort → seen by the fake', boundMs: 50, compareWith: 'own-loop' }, async () => {
      reset();
      lb.fake.faults.add({ route: 'responses.create', fault: { type: 'hang' } });
      const controller = new AbortController();
      const pending = client().responses.create({ model: 'o3', input: 'x' }, { signal: controller.signal });
      await lb.fake.journal.waitFor((e) => e.route === 'responses.create', patience(2_000));
      const abortedAt = performance.now();
      controller.abort();
      await assert.rejects(pending, OpenAI.APIUserAbortError);
      const entry = await lb.fake.journal.waitFor((e) => e.aborted, patience(1_000));
      return entry.abortedAtMs! - abortedAt;
    });
  });

  test('an upload cut off by a client that died is journalled as aborted, not as a request departing from the spec; a malformed body from a client that waits still is', { timeout: patience(10_000) }, async () => {
    reset();
    const base = new URL(lb.baseUrls.openai);
    const head = (length: number) =>
      `POST ${base.pathname.replace(/\/$/, '')}/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\n` +
      `Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: ${length}\r\n\r\n`;
    const part = '--b0undary\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n';
    // A client killed halfway through its body (as KI-13's SIGKILL mid-upload).
    const killed = connect(Number(base.port), '127.0.0.1');
    await new Promise<void>((resolve) => killed.once('connect', resolve));
    killed.write(head(100_000) + part + 'x'.repeat(1_000));
    await new Promise((r) => setTimeout(r, 50));
    killed.destroy();
    const cut = await lb.fake.journal.waitFor((e) => e.route === 'files.create' && (e.aborted || e.status !== null), patience(3_000));
    assert.equal(cut.aborted, true, JSON.stringify(cut));
    // The check of the body runs off the thread and records on the entry afterwards: give it time.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(cut.specViolations, undefined, JSON.stringify(cut.specViolations));

    // A complete body that is not multipart, sent by a client that waits for the answer.
    reset();
    const res = await fetch(`${lb.baseUrls.openai.replace(/\/$/, '')}/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'multipart/form-data; boundary=b0undary' },
      body: 'not a multipart body',
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /spec_violation/);
    const bad = await lb.fake.journal.waitFor((e) => e.route === 'files.create' && e.status !== null, patience(1_000));
    assert.notEqual(bad.aborted, true);
    assert.equal(bad.specViolations?.[0]?.message, 'request body is required');
  });

  test('stall after headers, truncated stream and network error over sockets', { timeout: patience(5_000) }, async () => {
    reset();
    lb.fake.faults.add({ route: 'chat.gemini', calls: [1], fault: { type: 'stall-after-headers' } });
    lb.fake.faults.add({ route: 'chat.gemini', calls: [2], fault: { type: 'truncate', afterEvents: 2, mode: 'error' } });
    lb.fake.faults.add({ route: 'chat.gemini', calls: [3], fault: { type: 'network-error' } });
    const gemini = client('gemini');
    const controller = new AbortController();
    const stream = await gemini.chat.completions.create({ model: 'g', messages: [{ role: 'user', content: 'x' }], stream: true }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50).unref();
    let chunks = 0;
    await (async () => {
      for await (const _ of stream) chunks += 1;
    })().catch(() => undefined);
    assert.equal(chunks, 0);
    assert.ok((await lb.fake.journal.waitFor((e) => e.aborted, patience(1_000))).status === 200);

    const cut = await gemini.chat.completions.create({ model: 'g', messages: [{ role: 'user', content: 'x' }], stream: true });
    await assert.rejects(async () => {
      for await (const _ of cut) {
        // drain
      }
    });
    await assert.rejects(gemini.chat.completions.create({ model: 'g', messages: [{ role: 'user', content: 'x' }] }), OpenAI.APIConnectionError);
  });

  test('KI-16: idle keep-alive connections are closed after T; a reused one can be reset', { timeout: patience(5_000) }, async () => {
    reset();
    const c = client();
    // undici returns a socket to its pool a moment after the body is read.
    const settle = () => new Promise((r) => setTimeout(r, 10));
    await c.files.list();
    await settle();
    lb.connections.resetNextReused(1);
    const before = lb.connections.stats();
    // The pooled connection is reused and reset without an answer.
    await assert.rejects(c.files.list(), OpenAI.APIConnectionError);
    assert.equal(lb.connections.stats().resetOnReuse, before.resetOnReuse + 1);
    assert.ok(await c.files.list(), 'a fresh connection works');

    lb.connections.setIdleClose(30);
    await c.files.list();
    await new Promise((r) => setTimeout(r, 80));
    assert.ok(lb.connections.stats().closedIdle >= 1);
    assert.ok(await c.files.list());
    const status = await control('/connections', { body: { idleCloseMs: null, resetNextReused: 0 } });
    assert.equal(status.idleCloseMs, null);
  });
});
