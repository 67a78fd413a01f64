// Project memory: an answered call is summarised into the memory store in the background,
// search_project_history finds it labelled as possibly outdated, and the chat tools offer
// the memory store to the model unless disable_memory_search is set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

test('memory: stored after an answer, searchable, offered to the model, and skippable', { timeout: patience(40_000) }, async () => {
  const rig = await startRig({ env: { SECOND_BRAIN_MEMORY: 'true' } });
  try {
    const r = await rig.call('chat_with_gpt41', { instructions: 'How is the PELICAN cache invalidated?', session_id: 'm1' });
    assert.equal(r.isError, undefined, textOf(r));
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000 && ((rig.app.services.memory!.stats() as any).stored ?? 0) < 1) await new Promise((res) => setTimeout(res, 100));
    assert.equal((rig.app.services.memory!.stats() as any).stored, 1);
    const h = await rig.call('search_project_history', { query: 'PELICAN cache', max_results: '3' });
    assert.equal(h.isError, undefined, textOf(h));
    assert.match(textOf(h), /Possibly outdated/);
    assert.match(textOf(h), /PELICAN/);

    await rig.call('chat_with_gpt41', { instructions: 'follow-up', session_id: 'm2' });
    const withMemory = [...rig.fake.state.responses.values()].at(-1)!.request as any;
    assert.ok(withMemory.tools?.[0]?.vector_store_ids?.includes(rig.app.services.memory!.storeId!()), 'memory store offered via file_search');
    await rig.call('chat_with_gpt41', { instructions: 'no memory please', session_id: 'm3', disable_memory_search: 'true' });
    const without = [...rig.fake.state.responses.values()].at(-1)!.request as any;
    assert.equal(without.tools, undefined, 'disable_memory_search keeps the memory store out');
  } finally {
    await rig.close();
  }
});
