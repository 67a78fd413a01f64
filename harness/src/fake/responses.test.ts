import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createManualClock } from './clock.ts';
import { sdk, stopFakeServer, useFake } from './test-helpers.ts';
import { patience } from '../reference/patience.ts';

after(stopFakeServer);

describe('responses', () => {
  test('sync create completes and echoes model, markers and instructions', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const r = await client.responses.create({ model: 'o3', instructions: 'Answer briefly.', input: [{ role: 'user', content: 'Look at SB_MARK_ctx1 please' }] });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.match(r.id, /^resp_[0-9a-f]{48}$/);
    assert.match(r.output_text, /from o3\./);
    assert.match(r.output_text, /markers=\[SB_MARK_ctx1\]/);
    assert.match(r.output_text, /previous_response_id=none/);
    assert.match(r.output_text, /instructions_chars=15\./);
    assert.equal(r.output[0]?.type, 'message');
    assert.ok(r.usage && r.usage.total_tokens === r.usage.input_tokens + r.usage.output_tokens);
    assert.equal(fake.state.responses.get(r.id)?.instructions, 'Answer briefly.');
  });

  test('previous_response_id chains; unknown and forgotten ids get the live API\'s 400 previous_response_not_found', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const first = await client.responses.create({ model: 'o3', input: 'one' });
    const second = await client.responses.create({ model: 'o3', input: 'two', previous_response_id: first.id });
    assert.match(second.output_text, new RegExp(`previous_response_id=${first.id}\\.`));
    assert.equal(second.previous_response_id, first.id);

    const missing = await client.responses.create({ model: 'o3', input: 'x', previous_response_id: 'resp_unknown' }).catch((e) => e);
    assert.ok(missing instanceof OpenAI.BadRequestError);
    assert.equal(missing.code, 'previous_response_not_found');
    assert.equal(missing.param, 'previous_response_id');
    assert.equal(missing.type, 'invalid_request_error');

    fake.state.forgetResponse(second.id);
    await assert.rejects(client.responses.create({ model: 'o3', input: 'y', previous_response_id: second.id }), OpenAI.BadRequestError);

    fake.faults.add({ route: 'responses.create', times: 1, fault: { type: 'previous-not-found' } });
    await assert.rejects(client.responses.create({ model: 'o3', input: 'z', previous_response_id: first.id }), OpenAI.BadRequestError);
    const ok = await client.responses.create({ model: 'o3', input: 'z', previous_response_id: first.id });
    assert.equal(ok.status, 'completed');
  });

  test('store: false responses cannot be continued', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const r = await client.responses.create({ model: 'gpt-4.1', input: 'x', store: false });
    await assert.rejects(client.responses.create({ model: 'gpt-4.1', input: 'y', previous_response_id: r.id }), OpenAI.BadRequestError);
  });

  test('KI-15: the 404 path stays available for an unknown previous_response_id', { timeout: patience(5_000) }, async () => {
    const fake = useFake({ previousResponseNotFoundStatus: 404 });
    const missing = await sdk(fake).responses.create({ model: 'o3', input: 'x', previous_response_id: 'resp_unknown' }).catch((e) => e);
    assert.ok(missing instanceof OpenAI.NotFoundError);
    assert.equal(missing.code, 'previous_response_not_found');
  });

  test('model rules: o-series reject temperature, GPT-4.1 rejects reasoning, with 400 unsupported_parameter', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const o3 = await client.responses.create({ model: 'o3', input: 'x', temperature: 0.2 }).catch((e) => e);
    assert.ok(o3 instanceof OpenAI.BadRequestError);
    assert.equal(o3.code, 'unsupported_parameter');
    assert.equal(o3.param, 'temperature');
    const gpt = await client.responses.create({ model: 'gpt-4.1', input: 'x', reasoning: { effort: 'high' } }).catch((e) => e);
    assert.ok(gpt instanceof OpenAI.BadRequestError);
    assert.equal(gpt.param, 'reasoning');
    assert.equal((await client.responses.create({ model: 'gpt-4.1', input: 'x', temperature: 0.2 })).temperature, 0.2);
  });

  test('echoes what was asked: reasoning.effort and text.format', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const r = await client.responses.create({ model: 'o3', input: 'x', reasoning: { effort: 'high' } });
    assert.equal(r.reasoning?.effort, 'high');
    assert.deepEqual(r.text?.format, { type: 'text' });
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const j = await client.responses.create({ model: 'gpt-4.1', input: 'x', text: { format: { type: 'json_schema', name: 'output', schema, strict: false } } });
    assert.equal(j.text?.format?.type, 'json_schema');
    assert.equal(j.reasoning?.effort, null);
    assert.equal(r.usage?.input_tokens_details.cache_write_tokens, 0);
  });

  test('a synchronous response can end failed, cancelled or incomplete (background fault)', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    for (const final of ['failed', 'cancelled', 'incomplete'] as const) {
      fake.faults.add({ route: 'responses.create', times: 1, fault: { type: 'background', final } });
      const r = await client.responses.create({ model: 'o3', input: 'x' });
      assert.equal(r.status, final);
    }
  });

  test('background responses advance queued → in_progress → completed by elapsed time', { timeout: patience(5_000) }, async () => {
    const clock = createManualClock();
    const fake = useFake({ clock, background: { queuedMs: 340_000, inProgressMs: 60_000 } });
    const client = sdk(fake);
    const r = await client.responses.create({ model: 'o3-pro', input: 'long', background: true });
    assert.equal(r.status, 'queued');
    assert.deepEqual(r.output, []);
    clock.advance(339_999);
    assert.equal((await client.responses.retrieve(r.id)).status, 'queued');
    clock.advance(1);
    assert.equal((await client.responses.retrieve(r.id)).status, 'in_progress');
    clock.advance(60_000);
    const done = await client.responses.retrieve(r.id);
    assert.equal(done.status, 'completed');
    assert.match(done.output_text, /from o3-pro/);
  });

  test('background schedule faults end failed or incomplete; cancel ends cancelled', { timeout: patience(5_000) }, async () => {
    const clock = createManualClock();
    const fake = useFake({ clock });
    const client = sdk(fake);
    fake.faults.add({ route: 'responses.create', calls: [1], fault: { type: 'background', queuedMs: 10, inProgressMs: 10, final: 'failed' } });
    fake.faults.add({ route: 'responses.create', calls: [2], fault: { type: 'background', final: 'incomplete' } });
    const failed = await client.responses.create({ model: 'o3', input: 'a', background: true });
    const incomplete = await client.responses.create({ model: 'o3', input: 'b', background: true });
    const cancelled = await client.responses.create({ model: 'o3', input: 'c', background: true });
    assert.equal((await client.responses.cancel(cancelled.id)).status, 'cancelled');
    clock.advance(1_000);
    const f = await client.responses.retrieve(failed.id);
    assert.equal(f.status, 'failed');
    assert.equal(f.error?.code, 'server_error');
    const i = await client.responses.retrieve(incomplete.id);
    assert.equal(i.status, 'incomplete');
    assert.equal(i.incomplete_details?.reason, 'max_output_tokens');
    assert.equal((await client.responses.retrieve(cancelled.id)).status, 'cancelled');
    // A finished response stays finished when cancelled late.
    assert.equal((await client.responses.cancel(f.id)).status, 'failed');
    const sync = await client.responses.create({ model: 'o3', input: 'sync' });
    await assert.rejects(client.responses.cancel(sync.id), OpenAI.BadRequestError);
    await assert.rejects(client.responses.retrieve('resp_nope'), OpenAI.NotFoundError);
  });

  test('stream: true sends the real event sequence ending with response.completed', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const stream = await client.responses.create({ model: 'gpt-4.1', input: 'stream SB_MARK_s', stream: true });
    const types: string[] = [];
    let text = '';
    let final: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') final = event.response;
    }
    assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    assert.ok(types.filter((t) => t === 'response.output_text.delta').length > 1);
    assert.equal(types.at(-1), 'response.completed');
    assert.match(text, /markers=\[SB_MARK_s\]/);
    assert.equal(final?.status, 'completed');
    const entry = fake.journal.entries()[0]!;
    assert.equal(entry.stream, true);
    assert.ok(entry.endMs !== null && !entry.aborted);
  });

  test('file_search records vector stores and answers from attached files', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const store = fake.seed.vectorStore({ name: 'ctx', files: [{ filename: 'auth.ts', content: 'export function login() { /* SB_MARK_auth */ }' }] });
    const r = await client.responses.create({ model: 'o3', input: 'how does login work', tools: [{ type: 'file_search', vector_store_ids: [store.id] }] });
    assert.match(r.output_text, /file_search=\[auth\.ts\]/);
    assert.match(r.output_text, /markers=\[SB_MARK_auth\]/);
    assert.equal(r.output[0]?.type, 'file_search_call');
    assert.deepEqual(fake.state.responses.get(r.id)?.vectorStoreIds, [store.id]);
    assert.equal(fake.journal.entries()[0]?.vectorStoreId, store.id);
    await assert.rejects(client.responses.create({ model: 'o3', input: 'x', tools: [{ type: 'file_search', vector_store_ids: ['vs_missing'] }] }), OpenAI.NotFoundError);
  });

  test('function tool round trip when a call is required', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const client = sdk(fake);
    const tools: OpenAI.Responses.Tool[] = [{ type: 'function', name: 'read_file', parameters: { type: 'object', properties: {} }, strict: false }];
    const first = await client.responses.create({ model: 'o3', input: 'read it', tools, tool_choice: 'required' });
    const call = first.output.find((o) => o.type === 'function_call');
    assert.ok(call && call.type === 'function_call');
    assert.equal(call.name, 'read_file');
    const second = await client.responses.create({
      model: 'o3',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: 'contents SB_MARK_tool' }],
      tools,
    });
    assert.match(second.output_text, /markers=\[SB_MARK_tool\]/);
  });

  test('missing API key gets 401; missing model gets 400', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const res = await fetch(`${fake.baseUrls.openai}/responses`, { method: 'POST', body: JSON.stringify({ model: 'o3', input: 'x' }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 401);
    const unknown = await fetch(`${fake.baseUrls.openai}/models`, { headers: { authorization: 'Bearer k' } });
    assert.equal(unknown.status, 404);
    assert.deepEqual(await unknown.json(), { error: { message: 'Invalid URL (GET /v1/models)', type: 'invalid_request_error', param: null, code: null } });
    await assert.rejects(sdk(fake).responses.create({ input: 'x' } as never), OpenAI.BadRequestError);
  });
});
