// Every tool's happy path, against the shared fake, through a real MCP client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

const CHAT_TOOLS = ['chat_with_o3', 'chat_with_o3_pro', 'chat_with_gpt41', 'chat_with_grok4', 'chat_with_gemini25_pro', 'chat_with_gemini25_flash'];

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-proj-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'auth.ts'), 'export function login(user: string) { return user.length > 0; }\n');
  writeFileSync(join(dir, 'README.md'), '# demo project\n');
  return dir;
}

test('all six chat tools answer, with model name and usage, and context reaches the model', { timeout: patience(60_000) }, async () => {
  const dir = project();
  const rig = await startRig({ roots: [dir], models: { 'o3-pro': { timeout_s: 30 } } });
  try {
    const tools = (await rig.client.listTools()).tools.map((t) => t.name);
    for (const t of [...CHAT_TOOLS, 'list_models', 'count_project_tokens', 'list_sessions', 'search_project_history', 'server_diagnostics', 'start_job', 'poll_job', 'cancel_job']) {
      assert.ok(tools.includes(t), `${t} listed`);
    }
    for (const tool of CHAT_TOOLS) {
      const r = await rig.call(tool, { instructions: 'What does login do?', session_id: `s-${tool}`, context: ['src'] });
      assert.equal(r.isError, undefined, `${tool}: ${textOf(r)}`);
      const sc = r.structuredContent as Record<string, any>;
      assert.ok(sc.text.length > 0);
      assert.ok(sc.model, `${tool} reports the model`);
      assert.ok(sc.usage && sc.usage.input_tokens > 0, `${tool} reports usage`);
      assert.equal(sc.context.files_inline, 1);
      assert.match(textOf(r), /tokens in\/out/);
    }
    // The requests carried the file content.
    const bodies = rig.fake.journal.entries().filter((e: any) => e.route === 'responses.create' || e.route?.startsWith('chat'));
    assert.ok(bodies.length >= 6);
  } finally {
    await rig.close();
  }
});

test('list_models, count_project_tokens, list_sessions and server_diagnostics answer', { timeout: patience(30_000) }, async () => {
  const dir = project();
  const rig = await startRig({ roots: [dir] });
  try {
    const models = await rig.call('list_models', {});
    assert.equal((models.structuredContent as any).models.length, 6);
    const count = await rig.call('count_project_tokens', { paths: ['.'] });
    assert.equal(count.isError, undefined, textOf(count));
    assert.equal((count.structuredContent as any).totalFiles, 2);
    assert.ok((count.structuredContent as any).totalTokens > 5);
    await rig.call('chat_with_gpt41', { instructions: 'hi', session_id: 'listme' });
    const sessions = await rig.call('list_sessions', {});
    assert.ok((sessions.structuredContent as any).sessions.some((s: any) => s.session_id === 'listme'));
    const diag = await rig.call('server_diagnostics', {});
    const d = diag.structuredContent as any;
    assert.ok(Array.isArray(d.inflight));
    assert.equal(typeof d.event_loop.p99_ms, 'number');
    assert.equal(typeof d.event_loop.max_ms, 'number');
    assert.equal(typeof d.dropped.logs, 'number');
    assert.equal(typeof d.dropped.spans, 'number');
    assert.equal(d.providers.openai.circuit, 'closed');
  } finally {
    await rig.close();
  }
});

test('a missing key is not a startup error: the tool names the variable to set', { timeout: patience(20_000) }, async () => {
  const rig = await startRig({ env: { XAI_API_KEY: '' } });
  try {
    const r = await rig.call('chat_with_grok4', { instructions: 'hi', session_id: 's' });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /Set XAI_API_KEY/);
    assert.equal((r.structuredContent as any).error.code, 'SB_ERR_MISSING_API_KEY');
    const ok = await rig.call('chat_with_gpt41', { instructions: 'hi', session_id: 's' });
    assert.equal(ok.isError, undefined);
  } finally {
    await rig.close();
  }
});
