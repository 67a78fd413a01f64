// state.sqlite (every question, answer and job argument) is private: under umask 000 the
// server still makes the state dir 0700 and its files 0600, and a world-readable state dir
// left by an older version is tightened at start, with a log line saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { patience } from '@second-brain/harness';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const main = join(repo, 'server/src/main.ts');
const preload = join(repo, 'harness/src/node/preload.ts');
const mode = (p: string) => statSync(p).mode & 0o777;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)]));
}

test('umask 000: state dir 0700, state files 0600; an open state dir is tightened and logged', { timeout: patience(60_000) }, async () => {
  const home = join(mkdtempSync(join(tmpdir(), 'sb-perm-')), 'home');
  mkdirSync(home);
  chmodSync(home, 0o777);
  const dir = mkdtempSync(join(tmpdir(), 'sb-perm-proj-'));
  writeFileSync(join(dir, 'a.ts'), 'export const a = 1;\n');
  const transport = new StdioClientTransport({
    command: '/bin/sh', args: ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, '--import', preload, main],
    env: {
      PATH: process.env.PATH ?? '', HOME: home, SECOND_BRAIN_HOME: home, SECOND_BRAIN_MEMORY: 'false',
      OPENAI_API_KEY: 'sk-test-perm-0123456789abcdef', OPENAI_BASE_URL: 'http://openai.fake/v1', OTEL_BSP_SCHEDULE_DELAY: '50',
    },
    cwd: dir, stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  const client = new Client({ name: 'perm-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const r = await client.callTool({ name: 'chat_with_gpt41', arguments: { instructions: 'hi', session_id: 'perm', context: ['a.ts'] } }, undefined, { timeout: patience(30_000) });
    assert.notEqual(r.isError, true, JSON.stringify(r.content));
    await client.callTool({ name: 'start_job', arguments: { tool: 'chat_with_gpt41', args: { instructions: 'job', session_id: 'perm-job' } } });
    // Telemetry files appear once the first batch is exported.
    for (let i = 0; i < 100 && !walk(home).some((p) => p.includes('telemetry') && p.endsWith('.jsonl')); i++) await new Promise((res) => setTimeout(res, 100));
  } finally {
    await client.close();
  }
  assert.match(stderr, /state directory was open to other users \(0777\); tightened to 0700/);
  assert.equal(mode(home), 0o700, 'state dir');
  const entries = walk(home);
  const files = entries.filter((p) => statSync(p).isFile());
  assert.ok(files.some((p) => p.endsWith('state.sqlite')), 'state.sqlite exists');
  assert.ok(files.some((p) => p.endsWith('.jsonl')), `telemetry files exist: ${entries.join(', ')}`);
  for (const p of entries) {
    assert.equal(mode(p), statSync(p).isDirectory() ? 0o700 : 0o600, `${p} is ${mode(p).toString(8)}`);
  }
});
