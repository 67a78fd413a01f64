// KI-04: aborting a call must never take the process down. The real server over stdio:
// calls cancelled before, at and after their reply, then a normal call. With the
// 'throw-after-cancel' defect every cancel leaves a stray rejection behind; the
// process-level guard keeps the server up. Without the guard ('no-rejection-guard' too)
// the same cancels kill it, which shows this test can fail.
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
const main = join(repo, 'server/src/main.ts');
const preload = join(repo, 'harness/src/node/preload.ts');

async function cancelMany(defects: string): Promise<{ exited: boolean; after: 'success' | 'error' | 'not made' }> {
  const home = mkdtempSync(join(tmpdir(), 'sb-ki04-'));
  const transport = new StdioClientTransport({
    command: process.execPath, args: ['--import', preload, main], cwd: repo, stderr: 'pipe',
    env: {
      PATH: process.env.PATH ?? '', HOME: home, SECOND_BRAIN_HOME: home, SECOND_BRAIN_MEMORY: 'false', OTEL_SDK_DISABLED: 'true',
      OPENAI_API_KEY: 'sk-test-ki04-0123456789', OPENAI_BASE_URL: 'http://openai.fake/v1',
      XAI_API_KEY: 'xai-test-0123456789', XAI_BASE_URL: 'http://xai.fake/v1',
      GEMINI_API_KEY: 'gm-test-0123456789', GEMINI_BASE_URL: 'http://gemini.fake/v1beta/openai',
      SB_FAKE_CONFIG: JSON.stringify({ faults: [{ route: 'responses.create', fault: { type: 'latency', ms: 30 } }] }),
      SECOND_BRAIN_TEST_DEFECTS: defects,
    },
  });
  transport.stderr?.on('data', () => {}); // drain it, so a full pipe never blocks the child
  let exited = false;
  const client = new Client({ name: 'ki04', version: '1.0.0' });
  client.onclose = () => { exited = true; };
  await client.connect(transport);
  try {
    const ask = (i: number, signal?: AbortSignal) => client.callTool({ name: 'chat_with_gpt41', arguments: { instructions: `q${i}`, session_id: `s${i}` } }, undefined, { signal, timeout: patience(10_000) });
    // Cancels 0–60 ms after the start: before the 30 ms reply, around it, and after it.
    await Promise.allSettled(Array.from({ length: 12 }, (_, i) => ask(i, AbortSignal.timeout(i * 5 + 1))));
    await new Promise((r) => setTimeout(r, 200));
    if (exited) return { exited, after: 'not made' };
    const r = await ask(99);
    return { exited, after: r.isError ? 'error' : 'success' };
  } catch {
    return { exited: true, after: 'not made' };
  } finally {
    await client.close().catch(() => {});
  }
}

test('cancels around the reply leave the server up and the next call works, whatever they leave behind', { timeout: patience(60_000) }, async () => {
  assert.deepEqual(await cancelMany(''), { exited: false, after: 'success' });
  assert.deepEqual(await cancelMany('throw-after-cancel'), { exited: false, after: 'success' }, 'the process-level guard catches a stray rejection');
});

test('without the guard, a stray rejection after a cancel kills the process (the test can fail)', { timeout: patience(60_000) }, async () => {
  const r = await cancelMany('throw-after-cancel,no-rejection-guard');
  assert.equal(r.exited, true);
});
