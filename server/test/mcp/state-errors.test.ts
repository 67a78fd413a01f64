// A state database that fills up during a call: the tool answers with the file and what to
// do (SB_ERR_STATE_DISK_FULL), not SB_ERR_INTERNAL or "cannot rollback - no transaction is active".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

test('a full state database during a chat call is reported with its path and advice', { timeout: patience(30_000) }, async () => {
  const rig = await startRig();
  try {
    const ok = await rig.call('chat_with_grok4', { instructions: 'warm up', session_id: 'full' });
    assert.equal(ok.isError, undefined, textOf(ok));
    const { page_count: pages } = rig.app.db.prepare('PRAGMA page_count').get() as { page_count: number };
    // SQLite's cap on the file size answers SQLITE_FULL exactly as a full disk does.
    rig.app.db.exec(`PRAGMA max_page_count = ${pages}`);
    const r = await rig.call('chat_with_grok4', { instructions: 'x'.repeat(200_000), session_id: 'full' });
    const text = textOf(r);
    assert.equal(r.isError, true, text);
    assert.match(text, /\[SB_ERR_STATE_DISK_FULL\]$/);
    assert.ok(text.includes(join(rig.home, 'state.sqlite')), text);
    assert.match(text, /disk is full.*Free space/);
    assert.doesNotMatch(text, /cannot rollback|SB_ERR_INTERNAL/);

    // A write outside any transaction (the job row) is named the same way.
    const job = await rig.call('start_job', { tool: 'chat_with_grok4', args: { instructions: 'y'.repeat(200_000), session_id: 'full' } });
    assert.equal(job.isError, true, textOf(job));
    assert.match(textOf(job), /state\.sqlite: the disk is full.*\[SB_ERR_STATE_DISK_FULL\]$/);
  } finally {
    await rig.close();
  }
});
