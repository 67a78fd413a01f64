// A JSON-RPC message larger than the stdio transport reads must never wedge the server:
// 10 MiB of instructions used to close the SDK's transport while the process lived on,
// answering nothing (53 of 54 pings lost). Now that request gets an error naming the limit
// and the next requests are answered. The real server over stdio, with the default limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { patience } from '@second-brain/harness';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

test('an 11 MiB request is answered with an error naming the 10 MiB limit; pings and calls go on', { timeout: patience(60_000) }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'sb-stdio-big-'));
  const transport = new StdioClientTransport({
    command: process.execPath, args: ['--import', join(repo, 'harness/src/node/preload.ts'), join(repo, 'server/src/main.ts')], cwd: repo, stderr: 'pipe',
    env: {
      PATH: process.env.PATH ?? '', HOME: home, SECOND_BRAIN_HOME: home, SECOND_BRAIN_MEMORY: 'false', OTEL_SDK_DISABLED: 'true', SECOND_BRAIN_LOG_LEVEL: 'warn',
      OPENAI_API_KEY: 'sk-test-stdio-0123456789', OPENAI_BASE_URL: 'http://openai.fake/v1',
      XAI_API_KEY: 'xai-test-0123456789', XAI_BASE_URL: 'http://xai.fake/v1',
      GEMINI_API_KEY: 'gm-test-0123456789', GEMINI_BASE_URL: 'http://gemini.fake/v1beta/openai',
    },
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const client = new Client({ name: 'stdio-big', version: '1.0.0' });
  let closed = false;
  client.onclose = () => { closed = true; };
  await client.connect(transport);
  try {
    const big = 'x'.repeat(11 * 1024 * 1024);
    const err = await client.callTool({ name: 'chat_with_gpt41', arguments: { instructions: big, session_id: 'big' } }, undefined, { timeout: patience(20_000) })
      .then(() => undefined, (e: unknown) => e as Error & { code?: number; data?: { code?: string } });
    assert.ok(err, 'the oversized request is answered with an error, not left waiting');
    assert.equal(err.code, -32600);
    assert.match(err.message, /at most 10485760 bytes/);
    assert.equal(err.data?.code, 'SB_ERR_INPUT_TOO_LARGE');
    for (let i = 0; i < 5; i++) await client.ping({ timeout: 2_000 });
    const ok = await client.callTool({ name: 'chat_with_gpt41', arguments: { instructions: 'still there?', session_id: 'after' } }, undefined, { timeout: patience(20_000) });
    assert.equal(ok.isError, undefined);
    assert.equal(closed, false);
    assert.match(stderr, /over the 10485760-byte stdio limit/);
  } finally {
    await client.close().catch(() => {});
  }
});
