// Secrets never leave the machine by accident: VCS internals are never read, named or not;
// credential files are recognised by name and by content; key-shaped strings inside
// ordinary files are redacted; the context report says what was left out or redacted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startRig, textOf, type Rig } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

const OPENAI_KEY = 'sk-proj-' + 'Ab3dE'.repeat(16);
const AWS_KEY = 'AKIA' + 'QWERTYUIOPASDFGH';
const GITHUB_TOKEN = 'ghp_' + 'x1Y2z3'.repeat(6);
const SA_PRIVATE = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-SERVICE-ACCOUNT';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'sb-secrets-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

/** Everything the fake OpenAI account received in response requests. */
function sentUpstream(rig: Rig): string {
  return JSON.stringify([...rig.fake.state.responses.values()].map((r) => r.request));
}

async function ask(rig: Rig, args: Record<string, unknown>) {
  const r = await rig.call('chat_with_gpt41', { instructions: 'review', session_id: `s-${Math.random()}`, ...args });
  assert.equal(r.isError, undefined, textOf(r));
  return textOf(r) + JSON.stringify(r.structuredContent);
}

test('.git and other VCS internals are never read, walked into or named explicitly', { timeout: patience(30_000) }, async (t) => {
  const root = tree({
    'src/app.ts': 'export const app = 1;\n',
    '.git/config': '[remote "origin"]\n\turl = https://user:GITCONFIGTOKEN42@github.com/x/y.git\n',
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.hg/hgrc': '[paths]\ndefault = https://user:HGTOKEN42@example.com/repo\n',
    '.jj/repo/store/x': 'JJSTORE42\n',
  });
  const rig = await startRig({ roots: [root] });
  t.after(async () => { await rig.close(); rmSync(root, { recursive: true, force: true }); });
  const walked = await ask(rig, { context: ['.'] });
  const named = await ask(rig, { context: ['.git', '.hg/hgrc'], priority_context: ['.git/config'] });
  const up = sentUpstream(rig);
  for (const marker of ['GITCONFIGTOKEN42', 'HGTOKEN42', 'JJSTORE42', 'refs/heads/main']) assert.ok(!up.includes(marker), `${marker} was sent upstream`);
  assert.match(up, /export const app = 1/, 'ordinary files still go');
  assert.match(walked, /\.git\/ \(vcs-internal\)/);
  assert.match(named, /\.git\/ \(vcs-internal\)/);
  assert.match(named, /\.git\/config \(vcs-internal\)/);
  assert.match(named, /\.hg\/hgrc \(vcs-internal\)/);
  assert.match(named, /vcs-internal = version-control metadata, never read/);
});

test('secret files are recognised by name and by content, and reported', { timeout: patience(30_000) }, async (t) => {
  const byName: Record<string, string> = {
    'gcp-key.json': '{"note": "NAME-GCP"}',
    'aws_credentials_backup.txt': 'NAME-AWS',
    'kubeconfig': 'NAME-KUBE',
    '.config/gh/hosts.yml': 'NAME-GH',
    '.bash_history': 'NAME-HISTORY',
    'secrets.json': '{"k": "NAME-SECRETS"}',
    'token.txt': 'NAME-TOKEN',
    '.npmrc': 'NAME-NPMRC', '.pypirc': 'NAME-PYPIRC', '.netrc': 'NAME-NETRC', '.docker/config.json': '{"NAME-DOCKER": 1}',
    '.git-credentials': 'NAME-GITCRED', '.ssh/id_ed25519': 'NAME-SSH', '.env.local': 'NAME-ENV=1',
  };
  const byContent: Record<string, string> = {
    'deploy/prod.json': JSON.stringify({ type: 'service_account', project_id: 'p', private_key_id: 'CONTENT-SA', private_key: `-----BEGIN PRIVATE KEY-----\n${SA_PRIVATE}\n-----END PRIVATE KEY-----\n`, client_email: 'x@p.iam.gserviceaccount.com' }),
    'notes/server-cert.txt': `-----BEGIN RSA PRIVATE KEY-----\nCONTENTRSAKEY0123456789abcdef\n-----END RSA PRIVATE KEY-----\n`,
    'backup/aws.ini': '[default]\naws_access_key_id = x\naws_secret_access_key = CONTENT-AWS-SECRET\n',
  };
  const root = tree({ 'src/app.ts': 'export const app = 1;\n', 'src/credentials.ts': 'export function loadCredentials() { return 1; }\n', '.env.example': 'KEY=\n', ...byName, ...byContent });
  const rig = await startRig({ roots: [root] });
  t.after(async () => { await rig.close(); rmSync(root, { recursive: true, force: true }); });
  const report = await ask(rig, { context: ['.'] });
  const named = await ask(rig, { context: ['deploy/prod.json', 'token.txt'] });
  const up = sentUpstream(rig);
  for (const marker of ['NAME-GCP', 'NAME-AWS', 'NAME-KUBE', 'NAME-GH', 'NAME-HISTORY', 'NAME-SECRETS', 'NAME-TOKEN', 'NAME-NPMRC', 'NAME-PYPIRC',
    'NAME-NETRC', 'NAME-DOCKER', 'NAME-GITCRED', 'NAME-SSH', 'NAME-ENV', 'CONTENT-SA', SA_PRIVATE, 'CONTENTRSAKEY', 'CONTENT-AWS-SECRET']) {
    assert.ok(!up.includes(marker), `${marker} was sent upstream`);
  }
  assert.match(up, /loadCredentials/, 'code about credentials is not a credential');
  assert.match(up, /\.env\.example/, 'templates are kept');
  for (const p of Object.keys(byName)) assert.ok(report.includes(`${p} (secret)`), `${p} reported as secret`);
  for (const p of Object.keys(byContent)) assert.ok(report.includes(`${p} (secret-content)`), `${p} reported as secret-content`);
  assert.match(report, /secret-content = the content is a credential/);
  assert.match(named, /deploy\/prod\.json \(secret-content\)/, 'named explicitly: still left out');
  assert.match(named, /token\.txt \(secret\)/);
});

test('key-shaped strings inside ordinary files are redacted before sending; the report counts them', { timeout: patience(30_000) }, async (t) => {
  const root = tree({
    'src/config.ts': `export const openai = "${OPENAI_KEY}";\nexport const aws = "${AWS_KEY}";\nexport const gh = "${GITHUB_TOKEN}";\nexport const port = 8080;\n`,
    'src/clean.ts': 'export const clean = true;\n',
  });
  const rig = await startRig({ roots: [root] });
  t.after(async () => { await rig.close(); rmSync(root, { recursive: true, force: true }); });
  const report = await ask(rig, { context: ['src'] });
  const up = sentUpstream(rig);
  for (const key of [OPENAI_KEY, AWS_KEY, GITHUB_TOKEN]) assert.ok(!up.includes(key), `${key.slice(0, 8)}… was sent upstream`);
  assert.match(up, /export const openai = \\"\[redacted\]\\"/);
  assert.match(up, /export const port = 8080/, 'the rest of the file is sent');
  assert.match(report, /Redacted before sending: 3 credential-shaped strings in 1 file/);
  assert.match(report, /src\/config\.ts: 3 \(openai, aws, github\)/);
});
