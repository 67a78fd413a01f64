// Tool annotations tell the truth, as a real MCP client (over Streamable HTTP) lists them:
// chat tools are not read-only and reach the open world; local tools do not; start_job
// and cancel_job destroy nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHttpRig } from '../../test/support/http-rig.ts';
import { patience } from '@second-brain/harness';

test('tools/list: annotations match what each tool does', { timeout: patience(30_000) }, async () => {
  const rig = await startHttpRig();
  try {
    const client = await rig.connect();
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t.annotations ?? {}]));
    const chat = tools.filter((t) => t.name.startsWith('chat_with_'));
    assert.ok(chat.length >= 6, `chat tools listed (${chat.length})`);
    for (const t of chat) {
      assert.equal(t.annotations?.readOnlyHint, false, `${t.name} uploads files and spends money`);
      assert.equal(t.annotations?.openWorldHint, true, `${t.name} talks to a provider`);
      assert.equal(t.annotations?.destructiveHint, false, t.name);
    }
    for (const name of ['list_models', 'count_project_tokens', 'list_sessions', 'server_diagnostics', 'poll_job']) {
      const a = byName.get(name);
      assert.ok(a, `${name} listed`);
      assert.equal(a.readOnlyHint, true, name);
      assert.equal(a.openWorldHint, false, `${name} is local: openWorldHint must be false (the default is true)`);
    }
    for (const name of ['start_job', 'cancel_job']) {
      const a = byName.get(name);
      assert.ok(a, `${name} listed`);
      assert.equal(a.destructiveHint, false, `${name}: the default destructiveHint is true`);
      assert.equal(a.readOnlyHint, false, name);
    }
  } finally {
    await rig.close();
  }
});
