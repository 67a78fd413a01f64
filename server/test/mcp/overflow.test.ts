// Overflow: what does not fit goes to a per-session vector store the model searches;
// the store is reused and unchanged files are not uploaded twice (KI-01, KI-14).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

function tree(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-ovf-'));
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${String(i).padStart(3, '0')}.ts`), `export const v${i} = ${i};\n// ${'filler '.repeat(200)}\n`);
  return dir;
}

test('overflow goes to a vector store with file_search; a follow-up reuses it and uploads nothing twice', { timeout: patience(60_000) }, async () => {
  const dir = tree(30);
  // A tiny window: budget = 12000 × 0.85 − 8000 reserve ≈ 2200 tokens, so most files overflow.
  const rig = await startRig({ roots: [dir], models: { o3: { context_window: 12_000 } } });
  try {
    const r1 = await rig.call('chat_with_o3', { instructions: 'summarise', session_id: 'ovf', context: ['.'] });
    assert.equal(r1.isError, undefined, textOf(r1));
    const c1 = (r1.structuredContent as any).context;
    assert.ok(c1.files_in_vector_store > 10, `${c1.files_in_vector_store} files in the store`);
    assert.ok(c1.vector_store_id);
    const create = [...rig.fake.state.responses.values()].at(-1)!.request as any;
    assert.deepEqual(create.tools[0].type, 'file_search');
    assert.ok(create.tools[0].vector_store_ids.includes(c1.vector_store_id));
    assert.match(String(create.input), /\[vector store\]/);
    const uploads1 = rig.fake.journal.entries().filter((e) => e.route === 'files.create').length;
    // The overflow goes up packed in one bundle document, each file framed with its path.
    assert.equal(uploads1, 1);
    const bundle = [...rig.fake.state.files.values()][0]!;
    assert.equal(bundle.content.split('===== BEGIN FILE ').length - 1, c1.files_in_vector_store);

    const r2 = await rig.call('chat_with_o3', { instructions: 'and again', session_id: 'ovf', context: ['.'] });
    assert.equal(r2.isError, undefined, textOf(r2));
    assert.equal((r2.structuredContent as any).context.vector_store_id, c1.vector_store_id, 'the session reuses its store');
    const uploads2 = rig.fake.journal.entries().filter((e) => e.route === 'files.create').length;
    assert.equal(uploads2, uploads1, 'nothing uploaded twice');
    assert.equal(rig.fake.journal.entries().filter((e) => e.route === 'vector_stores.create').length, 1);
  } finally {
    await rig.close();
  }
});

test('Grok: overflow is left out and the answer says which files and why', { timeout: patience(30_000) }, async () => {
  const dir = tree(30);
  const rig = await startRig({ roots: [dir], models: { 'grok-4': { context_window: 12_000 } } });
  try {
    const r = await rig.call('chat_with_grok4', { instructions: 'summarise', session_id: 'g', context: ['.'] });
    assert.equal(r.isError, undefined, textOf(r));
    assert.ok((r.structuredContent as any).context.files_left_out > 10);
    assert.match(textOf(r), /left out \(this provider has no vector store\)/);
    assert.equal(rig.fake.journal.entries().filter((e) => e.route === 'files.create').length, 0);
  } finally {
    await rig.close();
  }
});
