// Many small overflow files through a real chat call: the overflow goes up as a few
// bundles, not one upload per file (10,000 files were 6,520 uploads; 50,000 ran out of
// memory after 1,426). Every file is accounted for. With the `per-file-uploads` defect
// switch (the old behaviour) the same call makes one upload per overflow file, which shows
// the test can fail. Scaled down to 1,500 files; the full sizes are in `npm run bench`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

const FILES = 1_500;

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-many-'));
  for (let d = 0; d < 10; d++) mkdirSync(join(dir, `pkg${d}`));
  for (let i = 0; i < FILES; i++) writeFileSync(join(dir, `pkg${i % 10}`, `mod_${i}.ts`), `// module ${i}\nexport const v${i} = ${i};\n`);
  return dir;
}

async function overflowCall(defects: string): Promise<{ uploads: number; inline: number; inStore: number }> {
  const dir = project();
  const rig = await startRig({ roots: [dir], models: { 'gpt-4.1': { context_window: 20_000 } }, env: defects ? { SECOND_BRAIN_TEST_DEFECTS: defects } : {} });
  try {
    const r = await rig.call('chat_with_gpt41', { instructions: 'Summarise.', session_id: 'many', context: ['.'], disable_memory_search: true }, { timeout: patience(120_000) });
    assert.equal(r.isError, undefined, textOf(r));
    const c = (r.structuredContent as { context: { files_inline: number; files_in_vector_store: number } }).context;
    return { uploads: rig.fake.journal.entries().filter((e) => e.route === 'files.create').length, inline: c.files_inline, inStore: c.files_in_vector_store };
  } finally {
    await rig.close();
  }
}

test(`KI-08: ${FILES} small files with an overflowing model take one upload, and every file is accounted for`, { timeout: patience(150_000) }, async () => {
  const r = await overflowCall('');
  assert.equal(r.uploads, 1, `uploads: ${r.uploads}`);
  assert.ok(r.inStore > FILES / 2, `most files overflow: ${r.inStore}`);
  assert.equal(r.inline + r.inStore, FILES);
});

test('with per-file uploads (the old behaviour) the same call makes one upload per overflow file', { timeout: patience(150_000) }, async () => {
  const r = await overflowCall('per-file-uploads');
  assert.equal(r.uploads, r.inStore);
  assert.ok(r.uploads > FILES / 2);
});
