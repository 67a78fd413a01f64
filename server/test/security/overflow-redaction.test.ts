// Key-shaped strings are redacted from what goes to the vector store too, not only from
// inline context: overflow bundles are built from the screened file contents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

const KEY = `sk-proj-${'A1b2C3d4E5'.repeat(4)}`;
const AWS = 'AKIAQWERTYUIOPASDFGH';

test('overflow bundles carry [redacted], never the key-shaped strings of the files', { timeout: patience(60_000) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-ovf-redact-'));
  for (let i = 0; i < 30; i++) {
    writeFileSync(join(dir, `f${String(i).padStart(3, '0')}.ts`), `export const key${i} = '${KEY}';\nexport const aws${i} = '${AWS}';\n// ${'filler '.repeat(200)}\n`);
  }
  const rig = await startRig({ roots: [dir], models: { o3: { context_window: 12_000 } } });
  try {
    const r = await rig.call('chat_with_o3', { instructions: 'summarise', session_id: 'redact', context: ['.'] });
    assert.equal(r.isError, undefined, textOf(r));
    const files = [...rig.fake.state.files.values()];
    assert.ok(files.length >= 1, 'the overflow was uploaded');
    for (const f of files) {
      assert.ok(!f.content.includes(KEY), 'an uploaded bundle holds the OpenAI-shaped key');
      assert.ok(!f.content.includes(AWS), 'an uploaded bundle holds the AWS key id');
      assert.match(f.content, /\[redacted\]/);
    }
    const create = [...rig.fake.state.responses.values()].at(-1)!.request as { input: unknown };
    assert.ok(!JSON.stringify(create.input).includes(KEY), 'the inline prompt holds the key');
  } finally {
    await rig.close();
  }
});
