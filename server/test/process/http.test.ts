// --http PORT serves MCP Streamable HTTP on 127.0.0.1; several sessions share one App.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { patience } from '@second-brain/harness';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

test('Streamable HTTP on 127.0.0.1: two clients, answers, diagnostics, clean SIGTERM', { timeout: patience(40_000) }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'sb-http-'));
  const child = spawn(process.execPath, ['--import', join(repo, 'harness/src/node/preload.ts'), join(repo, 'server/src/main.ts'), '--http', '0'], {
    env: { PATH: process.env.PATH ?? '', SECOND_BRAIN_HOME: home, OPENAI_API_KEY: 'sk-test-http-0123456789', OPENAI_BASE_URL: 'http://openai.fake/v1', SECOND_BRAIN_MEMORY: 'false', OTEL_SDK_DISABLED: 'true' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const { port, tokenFile } = await new Promise<{ port: number; tokenFile: string }>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no port: ${err}`)), 15_000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\/mcp/.exec(err);
      const f = /the token is in (\S+)/.exec(err);
      if (m && f) { clearTimeout(t); resolve({ port: Number(m[1]), tokenFile: f[1]! }); }
    });
  });
  assert.equal(tokenFile, join(home, 'http-token'), 'the generated token lives in the state dir, and its path is printed');
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  const token = readFileSync(tokenFile, 'utf8').trim();
  assert.ok(!err.includes(token), 'the token itself is never printed');
  const refused = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(refused.status, 401, 'a request without the token is refused');
  const clients = await Promise.all([1, 2].map(async (i) => {
    const c = new Client({ name: `http-${i}`, version: '1' });
    await c.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    return c;
  }));
  try {
    const answers = await Promise.all(clients.map((c, i) => c.callTool({ name: 'chat_with_gpt41', arguments: { instructions: 'hi', session_id: `h${i}` } })));
    for (const a of answers) assert.notEqual(a.isError, true, JSON.stringify(a.content));
    const d = await clients[0]!.callTool({ name: 'server_diagnostics', arguments: {} });
    assert.equal((d.structuredContent as any).inflight.length, 1);
    assert.equal((d.structuredContent as any).http.open_sessions, 2, 'server_diagnostics shows the HTTP sessions');
  } finally {
    for (const c of clients) await c.close();
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 0);
});
