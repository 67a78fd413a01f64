import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { gatherFiles } from './gather.ts';
import { closeContextWorkers } from './workers.ts';
import { isSecretName, screenText } from './secrets.ts';
import { patience } from '@second-brain/harness';

after(() => closeContextWorkers());

const KEY = 'sk-proj-' + 'Zx9Yw8'.repeat(10);

test('a large set is screened off the event loop: every key redacted, credential files left out', { timeout: patience(60_000) }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sb-scan-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'src'));
  // 400 files of ~20 KiB (8 MiB): past the inline threshold, two worker jobs.
  const filler = 'export const value = "lorem ipsum dolor sit amet";\n'.repeat(400);
  for (let i = 0; i < 400; i++) writeFileSync(join(root, 'src', `m${i}.ts`), `${filler}const k${i} = "${KEY}";\n`);
  writeFileSync(join(root, 'src', 'key.txt'), '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIL\n-----END EC PRIVATE KEY-----\n');
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: AbortSignal.timeout(patience(50_000)) });
  h.disable();
  assert.equal(r.files.length, 400);
  assert.equal(r.redactions.length, 400);
  assert.ok(r.files.every((f) => !f.text!.includes(KEY) && f.text!.includes('[redacted]')), 'every key redacted');
  assert.deepEqual(r.skipped.filter((s) => s.reason === 'secret-content').map((s) => s.path), ['src/key.txt']);
  t.diagnostic(`event-loop delay max ${(h.max / 1e6).toFixed(1)} ms during the gather`);
});

test('a cancel reaches the screening', { timeout: patience(30_000) }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sb-scan-cancel-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const big = 'x'.repeat(300_000);
  for (let i = 0; i < 3; i++) writeFileSync(join(root, `f${i}.txt`), big);
  const ac = new AbortController();
  const p = gatherFiles({ paths: ['.'], roots: [root], signal: ac.signal, onProgress: (_d, _t, m) => { if (/Screening/.test(m) || /Read 3/.test(m)) ac.abort(); } });
  await assert.rejects(p, (e: any) => e.code === 'SB_ERR_CANCELLED');
});

test('names: credential files in, code about credentials out', () => {
  for (const p of ['gcp-key.json', 'aws_credentials_backup.txt', 'kubeconfig', '.config/gh/hosts.yml', '.bash_history', 'secrets.json', 'token.txt',
    '.npmrc', '.pypirc', '.netrc', '.docker/config.json', '.git-credentials', 'home/.ssh/id_ed25519', '.env.local', 'x/.aws/credentials']) assert.equal(isSecretName(p), true, p);
  for (const p of ['.env.example', 'src/credentials.ts', 'src/secrets.ts', 'src/tokenizer.ts', '.ssh/id_rsa.pub', 'src/credentials-form.tsx.snap/x.ts', 'docker/config.json']) {
    assert.equal(isSecretName(p), false, p);
  }
});

test('content: key shapes of every listed vendor are redacted; a PEM block in code is redacted, a key file is left out', () => {
  const shapes = ['sk-ant-api03-' + 'a'.repeat(30), 'sk-' + 'b'.repeat(40), 'xai-' + 'c'.repeat(30), 'AIza' + 'd'.repeat(35), 'ASIA' + 'E'.repeat(16),
    'gho_' + 'f'.repeat(36), 'github_pat_' + 'g'.repeat(60), 'xoxb-' + '1'.repeat(12) + '-abc', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig0123456789'];
  const out = screenText(shapes.map((s, i) => `v${i} = "${s}"`).join('\n'));
  assert.equal(out.action, 'redact');
  if (out.action !== 'redact') return;
  assert.equal(out.count, shapes.length);
  for (const s of shapes) assert.ok(!out.text.includes(s), s);
  const embedded = screenText('const fixture = `\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n`;\n');
  assert.equal(embedded.action, 'redact');
  assert.deepEqual(screenText('-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n'), { action: 'exclude', kind: 'private-key' });
  assert.deepEqual(screenText('export const ghost = "right through the night";'), { action: 'keep' });
});
