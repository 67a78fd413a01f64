// KI-10: the stderr buffer bound is a setting (SECOND_BRAIN_LOG_BUFFER_BYTES), validated at
// startup, and records past it are dropped and counted where server_diagnostics reads them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, isSbError } from '../errors.ts';
import { LOG_BUFFER_ENV, logBufferBytesFromEnv } from '../config/env.ts';
import { patience } from '@second-brain/harness';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const main = join(repo, 'server/src/main.ts');
const preload = join(repo, 'harness/src/node/preload.ts');

test('the buffer bound defaults to 1 MiB and accepts a whole number of bytes', () => {
  assert.equal(logBufferBytesFromEnv({}), DEFAULTS.LOG_BUFFER_MAX_BYTES);
  assert.equal(logBufferBytesFromEnv({ [LOG_BUFFER_ENV]: '32768' }), 32_768);
});

test('a bad bound is a startup error naming the variable', () => {
  for (const raw of ['lots', '100', '8192.5']) {
    assert.throws(() => logBufferBytesFromEnv({ [LOG_BUFFER_ENV]: raw }), (err: unknown) => isSbError(err, ErrorCode.CONFIG) && String((err as Error).message).includes(LOG_BUFFER_ENV));
  }
});

test('stderr never read: queries complete and records past the bound show in server_diagnostics dropped.logs', { timeout: patience(60_000) }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'sb-ki10-'));
  const dir = mkdtempSync(join(tmpdir(), 'sb-ki10-proj-'));
  for (let i = 0; i < 600; i++) writeFileSync(join(dir, `m${i}.ts`), `export const v${i} = ${i};\n`);
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', preload, main],
    cwd: dir,
    stderr: 'pipe',
    env: {
      PATH: process.env.PATH ?? '', HOME: home, SECOND_BRAIN_HOME: home, SECOND_BRAIN_LOG_LEVEL: 'trace',
      [LOG_BUFFER_ENV]: '8192', SECOND_BRAIN_MEMORY: 'false', SECOND_BRAIN_ALLOWED_PATHS: dir,
      OPENAI_API_KEY: 'sk-test-ki10-0123456789', OPENAI_BASE_URL: 'http://openai.fake/v1',
      // Spans go to the local files (and, at trace, to the log); logs and metrics are not exported.
      OTEL_LOGS_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none',
    },
  });
  // Never read: the client's pipe and buffers fill, then the server's bound.
  const client = new Client({ name: 'ki10-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    let dropped = 0;
    for (let i = 0; i < 60 && dropped === 0; i++) {
      const r = await client.callTool({ name: 'chat_with_gpt41', arguments: { instructions: 'What is here?', session_id: `ki10-${i}`, context: [dir] } }, undefined, { timeout: patience(10_000) });
      assert.notEqual(r.isError, true, JSON.stringify(r.content));
      const d = await client.callTool({ name: 'server_diagnostics', arguments: {} }, undefined, { timeout: patience(5_000) });
      dropped = Number((d.structuredContent as { dropped?: { logs?: number } }).dropped?.logs ?? 0);
    }
    assert.ok(dropped > 0, 'log records past the bound are counted in dropped.logs');
  } finally {
    await client.close();
  }
});
