import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { checkResponse, FAKE_SPEC_VIOLATION_STATUS } from './spec-check.ts';
import type { FakeRuntime, RouteDefinition } from './context.ts';
import { jsonResponse } from './errors.ts';
import type { JournalEntry } from './journal.ts';
import { sdk, stopFakeServer, useFake } from './test-helpers.ts';
import { patience } from '../reference/patience.ts';

after(stopFakeServer);

describe('the fake checks traffic against the OpenAI spec', () => {
  test('a request departing from the spec is answered 400 spec_violation naming the field, and journalled', { timeout: patience(15_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const bad = await client.responses.create({ model: 'o3', input: 'x', reasoning: { effort: 'extreme' as 'high' } }).catch((e) => e);
    assert.ok(bad instanceof OpenAI.BadRequestError);
    assert.equal(bad.code, 'spec_violation');
    assert.equal(bad.param, 'reasoning.effort');
    const entry = fake.journal.entries().at(-1)!;
    assert.equal(entry.specViolations?.[0]?.side, 'request');
    assert.equal(entry.specViolations?.[0]?.field, '/reasoning/effort');
    const list = await client.files.list({ limit: 20_000 }).catch((e) => e);
    assert.ok(list instanceof OpenAI.BadRequestError, 'the /files limit is 10,000 at most');
  });

  test('record mode journals without answering; off skips the check', { timeout: patience(15_000) }, async () => {
    const fake = useFake({ specValidation: 'record' });
    await sdk(fake).responses.create({ model: 'o3', input: 'x', reasoning: { effort: 'extreme' as 'high' } });
    // The request, and the fake's echo of what was asked in its response.
    assert.deepEqual(fake.journal.entries().at(-1)!.specViolations?.map((v) => v.side), ['request', 'response']);
    fake.configure({ specValidation: 'off' });
    await sdk(fake).responses.create({ model: 'o3', input: 'x', reasoning: { effort: 'extreme' as 'high' } });
    assert.equal(fake.journal.entries().at(-1)!.specViolations, undefined);
  });

  test('a response of the fake departing from the spec becomes a 418 fake_spec_violation naming the field', { timeout: patience(15_000) }, async () => {
    const runtime = { settings: { specValidation: 'enforce' } } as unknown as FakeRuntime;
    const def = { route: 'files.retrieve' } as RouteDefinition;
    const entry = {} as JournalEntry;
    const wrong = jsonResponse({ id: 'file-1', object: 'file', bytes: 'many', created_at: 1, filename: 'a', purpose: 'assistants', status: 'processed' });
    const answered = await checkResponse(runtime, def, entry, wrong);
    assert.equal(answered.status, FAKE_SPEC_VIOLATION_STATUS);
    const body = (await answered.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'fake_spec_violation');
    assert.match(body.error.message, /GET \/files\/\{file_id\} → 200: \/bytes must be integer/);
    assert.equal(entry.specViolations?.[0]?.side, 'response');
    // The 429 header as documented: Retry-After an integer ≥ 1.
    const throttled = jsonResponse({ error: { message: 'x', type: 'requests', param: null, code: 'rate_limit_exceeded' } }, 429, { 'retry-after': '0' });
    const r = await checkResponse(runtime, { route: 'responses.create' } as RouteDefinition, {} as JournalEntry, throttled);
    assert.equal(r.status, FAKE_SPEC_VIOLATION_STATUS);
  });

  test('429s carry retry-after ≥ 1 s with retry-after-ms alongside, or neither when the user must act', { timeout: patience(15_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    fake.faults.add({ route: 'responses.create', times: 1, fault: { type: 'rate-limit', retryAfterMs: 250 } });
    const e1 = await client.responses.create({ model: 'o3', input: 'x' }).catch((e) => e);
    assert.equal(e1.status, 429);
    assert.equal(e1.headers.get('retry-after'), '1');
    assert.equal(e1.headers.get('retry-after-ms'), '250');
    fake.faults.add({ route: 'responses.create', times: 1, fault: { type: 'rate-limit', omitRetryAfter: true } });
    const e2 = await client.responses.create({ model: 'o3', input: 'x' }).catch((e) => e);
    assert.equal(e2.status, 429);
    assert.equal(e2.headers.get('retry-after'), null);
    assert.equal(e2.headers.get('retry-after-ms'), null);
  });
});
