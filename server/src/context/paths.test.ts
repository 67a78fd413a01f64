import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSecretPath, resolveAllowedPaths } from './paths.ts';
import type { SbError } from '../errors.ts';
import { patience } from '@second-brain/harness';

function setup() {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'sb-paths-')));
  const root = join(base, 'root');
  const other = join(base, 'other');
  mkdirSync(join(root, 'src'), { recursive: true });
  mkdirSync(other);
  writeFileSync(join(root, 'src', 'a.ts'), 'a');
  writeFileSync(join(other, 'outside.txt'), 'outside');
  symlinkSync(join(other, 'outside.txt'), join(root, 'escape.txt'));
  symlinkSync(other, join(root, 'escape-dir'));
  return { base, root, other };
}

test('relative paths resolve against the first root, absolute ones are kept', { timeout: patience(5_000) }, async (t) => {
  const { base, root } = setup();
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const r = await resolveAllowedPaths(['src', join(root, 'src', 'a.ts'), '.'], [root], AbortSignal.timeout(patience(4_000)));
  assert.deepEqual(r.map((p) => [p.relPath, p.isDirectory]), [['src', true], ['src/a.ts', false], ['', true]]);
  assert.equal(r[1]!.realPath, join(root, 'src', 'a.ts'));
});

test('symlinks that lead out of the roots are rejected, naming the path', { timeout: patience(5_000) }, async (t) => {
  const { base, root } = setup();
  t.after(() => rmSync(base, { recursive: true, force: true }));
  for (const p of ['escape.txt', 'escape-dir', 'escape-dir/outside.txt', '../other/outside.txt', '/etc/passwd']) {
    await assert.rejects(resolveAllowedPaths([p], [root], AbortSignal.timeout(patience(4_000))), (err: SbError) => {
      assert.equal(err.code, 'SB_ERR_PATH_OUTSIDE_ROOTS');
      assert.deepEqual(err.details?.paths, [p]);
      assert.ok(err.message.includes(p));
      return true;
    });
  }
});

test('missing paths are SB_ERR_PATH_NOT_FOUND, missing paths outside are still "outside"', { timeout: patience(5_000) }, async (t) => {
  const { base, root } = setup();
  t.after(() => rmSync(base, { recursive: true, force: true }));
  await assert.rejects(resolveAllowedPaths(['src/nope.ts'], [root], AbortSignal.timeout(patience(4_000))), { code: 'SB_ERR_PATH_NOT_FOUND' });
  await assert.rejects(resolveAllowedPaths(['../other/nope.ts'], [root], AbortSignal.timeout(patience(4_000))), { code: 'SB_ERR_PATH_OUTSIDE_ROOTS' });
  await assert.rejects(resolveAllowedPaths(['src'], [], AbortSignal.timeout(patience(4_000))), { code: 'SB_ERR_INVALID_ARGUMENT' });
  await assert.rejects(resolveAllowedPaths([''], [root], AbortSignal.timeout(patience(4_000))), { code: 'SB_ERR_INVALID_ARGUMENT' });
});

test('a second root admits its paths, with the root name as prefix', { timeout: patience(5_000) }, async (t) => {
  const { base, root, other } = setup();
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const r = await resolveAllowedPaths(['escape.txt', 'src/a.ts'], [root, other], AbortSignal.timeout(patience(4_000)));
  assert.deepEqual(r.map((p) => p.relPath), ['other/outside.txt', 'root/src/a.ts']);
});

test('isSecretPath', () => {
  for (const p of ['.env', 'config/.env.local', 'prod.env', 'server.pem', 'tls/server.key', 'id_rsa', '.ssh/id_ed25519', 'cert.p12',
    'credentials', '.aws/credentials.json', '.npmrc', '.netrc', 'terraform.tfstate']) assert.equal(isSecretPath(p), true, p);
  for (const p of ['.env.example', 'src/env.ts', 'id_rsa.pub', 'keys.ts', 'README.md', 'src/credentials-form.tsx.snap/x.ts']) assert.equal(isSecretPath(p), false, p);
});

test('a symlink loop named in the paths is an error naming it, not ELOOP', { timeout: patience(5_000) }, async (t) => {
  const { base, root } = setup();
  t.after(() => rmSync(base, { recursive: true, force: true }));
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
  await assert.rejects(resolveAllowedPaths(['loop-a'], [root], AbortSignal.timeout(patience(4_000))), (err: SbError) => {
    assert.equal(err.code, 'SB_ERR_INVALID_ARGUMENT');
    assert.match(err.message, /loop-a is a symlink loop/);
    assert.ok(err.message.includes(join(root, 'loop-a')));
    return true;
  });
});
