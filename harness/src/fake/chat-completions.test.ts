import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { sdk, stopFakeServer, useFake } from './test-helpers.ts';
import { patience } from '../reference/patience.ts';

after(stopFakeServer);

describe('chat completions (xAI, Gemini)', () => {
  for (const provider of ['xai', 'gemini'] as const) {
    test(`${provider}: JSON answer with usage, routed to chat.${provider}`, { timeout: patience(5_000) }, async () => {
      const fake = useFake();
      const client = sdk(fake, provider);
      const c = await client.chat.completions.create({
        model: provider === 'xai' ? 'grok-4' : 'gemini-2.5-pro',
        messages: [
          { role: 'system', content: 'sys SB_MARK_sys' },
          { role: 'user', content: [{ type: 'text', text: 'hello SB_MARK_user' }] },
        ],
      });
      assert.equal(c.object, 'chat.completion');
      assert.match(c.id, /^chatcmpl-/);
      const text = c.choices[0]?.message.content ?? '';
      assert.match(text, new RegExp(`Fake ${provider} answer`));
      assert.match(text, /markers=\[SB_MARK_sys,SB_MARK_user\]/);
      assert.equal(c.choices[0]?.finish_reason, 'stop');
      assert.ok((c.usage?.prompt_tokens ?? 0) > 0 && (c.usage?.completion_tokens ?? 0) > 0);
      assert.equal(fake.journal.entries()[0]?.route, `chat.${provider}`);
      assert.equal(fake.journal.entries()[0]?.provider, provider);
    });

    test(`${provider}: stream sends chunks, usage on request, then [DONE]`, { timeout: patience(5_000) }, async () => {
      const fake = useFake();
      const client = sdk(fake, provider);
      const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
      let text = '';
      let chunks = 0;
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) {
        chunks += 1;
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      assert.ok(chunks > 3);
      assert.match(text, /^Fake .* answer from m\./);
      assert.ok(usage && usage.total_tokens > 0);
      // The raw body ends with the sentinel the SDK stops on.
      const raw = await fetch(`${fake.baseUrls[provider]}/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true }),
      });
      assert.equal(raw.headers.get('content-type')?.startsWith('text/event-stream'), true);
      assert.ok((await raw.text()).endsWith('data: [DONE]\n\n'));
    });
  }

  test('validation errors are provider-shaped', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const error = await sdk(fake, 'xai').chat.completions.create({ model: 'grok-4', messages: [] }).catch((e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(error.param, 'messages');
  });
});

describe('where xAI and Gemini depart from OpenAI (dialects.ts)', () => {
  const post = (fake: ReturnType<typeof useFake>, provider: 'xai' | 'gemini', body: Record<string, unknown>) =>
    fetch(`${fake.baseUrls[provider]}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'q' }], ...body }),
    });

  test('xAI refuses reasoning_effort on grok-4 and penalties on reasoning models, in its own error shape', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const effort = await post(fake, 'xai', { model: 'grok-4', reasoning_effort: 'high' });
    assert.equal(effort.status, 400);
    assert.deepEqual(await effort.json(), { code: 'Client specified an invalid argument', error: 'Argument not supported on this model: reasoningEffort' });
    const penalty = await post(fake, 'xai', { model: 'grok-4', presence_penalty: 0.5 });
    assert.equal(((await penalty.json()) as { error: string }).error, 'Argument not supported on this model: presencePenalty');
    assert.equal((await post(fake, 'xai', { model: 'grok-3-mini', reasoning_effort: 'high' })).status, 200);
    assert.equal((await post(fake, 'xai', { model: 'grok-4-fast-non-reasoning', stop: ['x'] })).status, 200);
  });

  test('Gemini refuses a reasoning_effort outside none/low/medium/high, as a list-wrapped Google error', { timeout: patience(5_000) }, async () => {
    const fake = useFake();
    const r = await post(fake, 'gemini', { model: 'gemini-2.5-pro', reasoning_effort: 'minimal' });
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), [{ error: { code: 400, message: 'Invalid reasoning_effort: minimal. Valid values are: high, low, medium, none', status: 'INVALID_ARGUMENT' } }]);
    assert.equal((await post(fake, 'gemini', { model: 'gemini-2.5-pro', reasoning_effort: 'none' })).status, 200);
  });

  test('Gemini states a 429 delay as RetryInfo in the body, with no Retry-After header; `object` shape unwrapped', { timeout: patience(5_000) }, async () => {
    for (const shape of ['list', 'object'] as const) {
      const fake = useFake({ geminiErrorShape: shape, faults: [{ route: 'chat.gemini', fault: { type: 'rate-limit', retryAfterMs: 1500 } }] });
      const r = await post(fake, 'gemini', { model: 'gemini-2.5-pro' });
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), null);
      assert.equal(r.headers.get('retry-after-ms'), null);
      const body: unknown = await r.json();
      const error = (shape === 'list' ? (body as Array<{ error: unknown }>)[0]!.error : (body as { error: unknown }).error) as Record<string, unknown>;
      assert.equal(error.status, 'RESOURCE_EXHAUSTED');
      assert.deepEqual(error.details, [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.5s' }]);
    }
  });

  test('xAI rate limit: 429 in its shape, with the retry-after the fake keeps from OpenAI', { timeout: patience(5_000) }, async () => {
    const fake = useFake({ faults: [{ route: 'chat.xai', fault: { type: 'rate-limit', retryAfterS: 2 } }] });
    const r = await post(fake, 'xai', { model: 'grok-4' });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '2');
    assert.deepEqual(await r.json(), { code: 'Too Many Requests', error: 'Rate limit reached for requests. Please try again later.' });
  });

  for (const reason of ['length', 'content_filter'] as const) {
    test(`finish fault: finish_reason ${reason} with the text cut short`, { timeout: patience(5_000) }, async () => {
      const fake = useFake({ faults: [{ route: 'chat.xai', times: 1, fault: { type: 'finish', reason } }] });
      const client = sdk(fake, 'xai');
      const cut = await client.chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'q' }] });
      const whole = await client.chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'q' }] });
      assert.equal(cut.choices[0]?.finish_reason, reason);
      assert.equal(whole.choices[0]?.finish_reason, 'stop');
      const partial = cut.choices[0]?.message.content ?? '';
      assert.ok(partial.length > 0 && partial.length < (whole.choices[0]?.message.content ?? '').length);
    });
  }
});
