// Validate step: only paths inside the allowed roots are read, symlinks are resolved
// first, and secret-looking files are left out and reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'sb-root-'));
  const outside = mkdtempSync(join(tmpdir(), 'sb-outside-'));
  writeFileSync(join(outside, 'secret.txt'), 'OUTSIDE-CONTENT-MARKER');
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'src', 'main.ts'), 'console.log(1)\n');
  writeFileSync(join(root, '.env'), 'OPENAI_API_KEY=sk-should-never-leave');
  writeFileSync(join(root, 'server.pem'), '-----BEGIN PRIVATE KEY-----');
  symlinkSync(join(outside, 'secret.txt'), join(root, 'src', 'escape.txt'));
  symlinkSync(outside, join(root, 'linkdir'));
  return { root, outside };
}

test('a path outside the roots is a clear error naming it; its content is never sent', { timeout: patience(20_000) }, async () => {
  const { root, outside } = setup();
  const rig = await startRig({ roots: [root] });
  try {
    const r = await rig.call('chat_with_gpt41', { instructions: 'read', session_id: 'p', context: [join(outside, 'secret.txt')] });
    assert.equal(r.isError, true);
    assert.match(textOf(r), new RegExp(`${outside.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal((r.structuredContent as any).error.code, 'SB_ERR_PATH_OUTSIDE_ROOTS');
    assert.equal(rig.fake.journal.entries().length, 0, 'nothing was sent upstream');
    const rel = await rig.call('chat_with_gpt41', { instructions: 'read', session_id: 'p', context: ['../'] });
    assert.equal(rel.isError, true);
  } finally {
    await rig.close();
  }
});

test('symlink escapes are refused, and secret files are skipped with the answer saying so', { timeout: patience(20_000) }, async () => {
  const { root } = setup();
  const rig = await startRig({ roots: [root] });
  try {
    const esc = await rig.call('chat_with_gpt41', { instructions: 'read', session_id: 'p', context: ['linkdir'] });
    assert.equal(esc.isError, true, 'a symlinked directory pointing outside is refused');
    assert.equal((esc.structuredContent as any).error.code, 'SB_ERR_PATH_OUTSIDE_ROOTS');
    const r = await rig.call('chat_with_gpt41', { instructions: 'read', session_id: 'q', context: ['.'] });
    assert.equal(r.isError, undefined, textOf(r));
    const sent = JSON.stringify([...rig.fake.state.responses.values()].map((x) => x.request));
    assert.ok(!sent.includes('OUTSIDE-CONTENT-MARKER'), 'symlinked file content outside the root never sent');
    assert.ok(!sent.includes('sk-should-never-leave'), '.env never sent');
    assert.ok(!sent.includes('BEGIN PRIVATE KEY'), '*.pem never sent');
    assert.match(textOf(r), /\.env/);
    assert.match(textOf(r), /secret/i);
  } finally {
    await rig.close();
  }
});
