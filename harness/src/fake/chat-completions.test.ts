import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { sdk, stopFakeServer, useFake } from './test-helpers.ts';

after(stopFakeServer);

describe('chat completions (xAI, Gemini)', () => {
  for (const provider of ['xai', 'gemini'] as const) {
    test(`${provider}: JSON answer with usage, routed to chat.${provider}`, { timeout: 5_000 }, async () => {
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

    test(`${provider}: stream sends chunks, usage on request, then [DONE]`, { timeout: 5_000 }, async () => {
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

  test('validation errors are provider-shaped', { timeout: 5_000 }, async () => {
    const fake = useFake();
    const error = await sdk(fake, 'xai').chat.completions.create({ model: 'grok-4', messages: [] }).catch((e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(error.param, 'messages');
  });
});
