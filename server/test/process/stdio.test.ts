// The built server over real stdio, driven by the MCP SDK client the way a user's client
// runs it; stdout must carry nothing but JSON-RPC; SIGTERM and stdin end shut it down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { patience } from '@second-brain/harness';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const main = join(repo, 'server/src/main.ts');
const preload = join(repo, 'harness/src/node/preload.ts');
const SENTINEL = 'sk-test-STDIO-SENTINEL-abcdef0123456789';

function env(home: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '', HOME: home, SECOND_BRAIN_HOME: home, SECOND_BRAIN_LOG_LEVEL: 'trace',
    OPENAI_API_KEY: SENTINEL, OPENAI_BASE_URL: 'http://openai.fake/v1',
    XAI_API_KEY: 'xai-test-0123456789', XAI_BASE_URL: 'http://xai.fake/v1',
    GEMINI_API_KEY: 'gm-test-0123456789', GEMINI_BASE_URL: 'http://gemini.fake/v1beta/openai',
    SECOND_BRAIN_MEMORY: 'false', OTEL_SDK_DISABLED: 'true',
  };
}

test('the MCP SDK client over real stdio gets answers from all six chat tools', { timeout: patience(60_000) }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'sb-stdio-'));
  const dir = mkdtempSync(join(tmpdir(), 'sb-stdio-proj-'));
  writeFileSync(join(dir, 'a.ts'), 'export const answer = 42;\n');
  const transport = new StdioClientTransport({
    command: process.execPath, args: ['--import', preload, main], env: env(home), cwd: dir, stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'stdio-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    for (const tool of ['chat_with_o3', 'chat_with_o3_pro', 'chat_with_gpt41', 'chat_with_grok4', 'chat_with_gemini25_pro', 'chat_with_gemini25_flash']) {
      const r = await client.callTool({ name: tool, arguments: { instructions: 'What is the answer?', session_id: `stdio-${tool}`, context: ['a.ts'] } }, undefined, { timeout: patience(30_000) });
      assert.notEqual(r.isError, true, `${tool}: ${JSON.stringify(r.content)}`);
    }
    await client.ping();
  } finally {
    await client.close();
  }
  assert.ok(!stderr.includes(SENTINEL), 'the API key never appears in logs');
  assert.match(stderr, /second-brain started/);
});

test('stdout carries only JSON-RPC, even at trace log level with errors; SIGTERM exits cleanly', { timeout: patience(60_000) }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'sb-stdout-'));
  const child = spawn(process.execPath, ['--import', preload, main], { env: env(home), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`);
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'chat_with_gpt41', arguments: { instructions: 'hi', session_id: 'raw' } } });
  send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'chat_with_gpt41', arguments: { instructions: 'x', session_id: 'raw', context: ['/etc/passwd'] } } });
  send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'no_such_tool', arguments: {} } });
  send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'chat_with_o3', arguments: { instructions: 'x', session_id: 'raw', disable_memory_search: 'maybe' } } });
  const deadline = Date.now() + patience(30_000);
  while (Date.now() < deadline && !['"id":2', '"id":3', '"id":4', '"id":5'].every((s) => out.includes(s))) await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 0, `exit code (stderr: ${err.slice(-500)})`);
  assert.ok(Date.now() - t0 < 6_000, 'shutdown within its deadline');
  const lines = out.split('\n').filter(Boolean);
  assert.ok(lines.length >= 5, `${lines.length} lines`);
  for (const line of lines) {
    const msg = JSON.parse(line);
    assert.equal(msg.jsonrpc, '2.0', `not JSON-RPC: ${line.slice(0, 200)}`);
  }
  assert.ok(err.length > 0, 'logs went to stderr');
  assert.ok(!out.includes(SENTINEL) && !err.includes(SENTINEL), 'no API key anywhere');
});

test('stdin end shuts the server down', { timeout: patience(30_000) }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'sb-stdin-'));
  const child = spawn(process.execPath, ['--import', preload, main], { env: env(home), stdio: ['pipe', 'pipe', 'ignore'] });
  await new Promise((r) => setTimeout(r, 800));
  child.stdin.end();
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 0);
});
