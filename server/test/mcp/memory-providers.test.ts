// Project memory lives in an OpenAI vector store. By default only OpenAI calls are stored
// there; Grok and Gemini calls go there only with SECOND_BRAIN_MEMORY_ALL_PROVIDERS=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRig, textOf, type Rig } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

const stats = (rig: Rig) => rig.app.services.memory!.stats() as { stored: number; queued: number; running: boolean; failed: number };

async function settled(rig: Rig, stored: number): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < 15_000) {
    const s = stats(rig);
    if (s.stored + s.failed >= stored && s.queued === 0 && !s.running) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Memory entries uploaded to the fake OpenAI account, by the text they hold. */
function memoryUploads(rig: Rig): string[] {
  return rig.fake.journal.entries().filter((e) => e.route === 'files.create' && /memory-/.test(JSON.stringify(e))).map((e) => JSON.stringify(e));
}

test('default: Grok and Gemini calls are not stored in the OpenAI memory store; OpenAI calls are', { timeout: patience(40_000) }, async () => {
  const rig = await startRig({ env: { SECOND_BRAIN_MEMORY: 'true' } });
  try {
    for (const tool of ['chat_with_grok4', 'chat_with_gemini25_flash']) {
      const r = await rig.call(tool, { instructions: `ask ${tool} about the PELICAN cache`, session_id: `mp-${tool}` });
      assert.equal(r.isError, undefined, textOf(r));
    }
    await new Promise((r) => setTimeout(r, 300));
    await settled(rig, 0);
    assert.equal(stats(rig).stored, 0, 'no entry stored for Grok or Gemini');
    assert.equal(memoryUploads(rig).length, 0, 'nothing uploaded to OpenAI for them');
    const o = await rig.call('chat_with_gpt41', { instructions: 'ask gpt-4.1', session_id: 'mp-openai' });
    assert.equal(o.isError, undefined, textOf(o));
    await settled(rig, 1);
    assert.equal(stats(rig).stored, 1, 'the OpenAI call is stored');
  } finally {
    await rig.close();
  }
});

test('SECOND_BRAIN_MEMORY_ALL_PROVIDERS=true: Grok and Gemini calls are stored too', { timeout: patience(40_000) }, async () => {
  const rig = await startRig({ env: { SECOND_BRAIN_MEMORY: 'true', SECOND_BRAIN_MEMORY_ALL_PROVIDERS: 'true' } });
  try {
    for (const tool of ['chat_with_grok4', 'chat_with_gemini25_flash']) {
      const r = await rig.call(tool, { instructions: `ask ${tool}`, session_id: `mpa-${tool}` });
      assert.equal(r.isError, undefined, textOf(r));
    }
    await settled(rig, 2);
    assert.equal(stats(rig).stored, 2);
  } finally {
    await rig.close();
  }
});
