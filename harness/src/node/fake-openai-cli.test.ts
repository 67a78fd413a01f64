import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import OpenAI from 'openai';
import { runFakeOpenAiCli } from './fake-openai-cli.ts';
import { patience } from '../reference/patience.ts';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c) => (text += c));
  return { stream, text: () => text };
}

describe('harness fake-openai', () => {
  test('serves on loopback, prints the base URLs to stderr, stops on signal', { timeout: patience(5_000) }, async () => {
    const out = capture();
    const controller = new AbortController();
    const exit = runFakeOpenAiCli(['--port', '0', '--seed', '5'], { signal: controller.signal, stderr: out.stream });
    const deadline = Date.now() + patience(3_000);
    while (!out.text().includes('control:')) {
      assert.ok(Date.now() < deadline, 'never printed its URLs');
      await new Promise((r) => setTimeout(r, 10));
    }
    const base = out.text().match(/OpenAI: (\S+)/)?.[1];
    assert.match(base ?? '', /^http:\/\/127\.0\.0\.1:\d+\/openai\/v1$/);
    const client = new OpenAI({ apiKey: 'sk-cli-0001', baseURL: base, maxRetries: 0 });
    assert.equal((await client.responses.create({ model: 'o3', input: 'cli' })).status, 'completed');
    controller.abort();
    assert.equal(await exit, 0);
    await assert.rejects(client.files.list(), OpenAI.APIConnectionError);
  });

  test('rejects bad arguments with exit code 2', { timeout: patience(2_000) }, async () => {
    const out = capture();
    assert.equal(await runFakeOpenAiCli(['--port', 'abc'], { stderr: out.stream }), 2);
    assert.match(out.text(), /--port must be an integer/);
    assert.equal(await runFakeOpenAiCli(['--bogus'], { stderr: out.stream }), 2);
  });
});
