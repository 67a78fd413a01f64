import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { startLoopbackFake } from '../../../harness/src/node/loopback.ts';
import { formatDoctorReport, runDoctor, runDoctorCli } from './doctor.ts';
import { latestVersion } from '../state/db.ts';
import { patience } from '@second-brain/harness';

function home(t: { after(fn: () => void): void }, mode = 0o700): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-doctor-'));
  chmodSync(dir, mode);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A local endpoint answering GET /v1/models with `status`, recording the Authorization header. */
async function modelsServer(t: { after(fn: () => Promise<void>): void }, status: number): Promise<{ url: string; auth: string[] }> {
  const auth: string[] = [];
  const server: Server = createServer((req, res) => {
    auth.push(String(req.headers.authorization));
    res.writeHead(req.url === '/v1/models' ? status : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status === 200 ? { object: 'list', data: [{ id: 'o3' }] } : { error: { message: 'no' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, auth };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('providers: accepted key, rejected key, reachable fake, unreachable endpoint, and no key', { timeout: patience(20_000) }, async (t) => {
  const fake = await startLoopbackFake();
  t.after(() => fake.close());
  const good = await modelsServer(t, 200);
  const bad = await modelsServer(t, 401);
  const dead = await closedPort();
  const base = { SECOND_BRAIN_HOME: home(t), OTEL_SDK_DISABLED: 'true' };

  const r1 = await runDoctor({ env: { ...base, OPENAI_API_KEY: 'sk-good', OPENAI_BASE_URL: good.url, XAI_API_KEY: 'xai-bad', XAI_BASE_URL: bad.url, GEMINI_API_KEY: 'g', GEMINI_BASE_URL: `http://127.0.0.1:${dead}/v1beta/openai` }, timeoutMs: 3_000 });
  assert.equal(r1.providers.openai?.status, 'ok', r1.providers.openai?.detail);
  assert.deepEqual(good.auth, ['Bearer sk-good']);
  assert.equal(r1.providers.xai?.status, 'fail');
  assert.match(r1.providers.xai.detail, /key rejected.*401/);
  assert.match(r1.providers.xai.fix!, /XAI_API_KEY/);
  assert.equal(r1.providers.gemini?.status, 'fail');
  assert.match(r1.providers.gemini.detail, /unreachable.*ECONNREFUSED/);
  assert.match(r1.providers.gemini.fix!, /GEMINI_BASE_URL/);
  assert.equal(r1.ok, false);

  // The harness fake on loopback: it answers, but has no /models, so the key is not verified.
  const r2 = await runDoctor({ env: { ...base, OPENAI_API_KEY: 'sk-fake', OPENAI_BASE_URL: fake.baseUrls.openai }, timeoutMs: 3_000 });
  assert.equal(r2.providers.openai?.status, 'warn');
  assert.match(r2.providers.openai.detail, /reachable, but GET \/models answered 404/);
  assert.equal(r2.providers.xai?.status, 'skipped');
  assert.match(r2.providers.xai.detail, /skipped \(no key\): XAI_API_KEY is not set/);
  assert.equal(r2.ok, true, 'warnings and skipped checks do not fail the run');
});

test('a hung provider endpoint is reported unreachable after the timeout', { timeout: patience(10_000) }, async (t) => {
  const server = createServer(() => { /* never answers */ });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  const started = Date.now();
  const r = await runDoctor({ env: { SECOND_BRAIN_HOME: home(t), OTEL_SDK_DISABLED: 'true', OPENAI_API_KEY: 'k', OPENAI_BASE_URL: url }, timeoutMs: 300 });
  assert.equal(r.providers.openai?.status, 'fail');
  assert.match(r.providers.openai.detail, /no answer within 300 ms/);
  assert.ok(Date.now() - started < 3_000);
});

test('state dir: private, readable by others, corrupt, newer schema', async (t) => {
  const env = (h: string) => ({ SECOND_BRAIN_HOME: h, OTEL_SDK_DISABLED: 'true' });
  const priv = home(t);
  const db = new DatabaseSync(join(priv, 'state.sqlite'));
  db.exec(`PRAGMA user_version = ${latestVersion()}`);
  db.close();
  const ok = await runDoctor({ env: env(priv) });
  assert.equal(ok.state.status, 'ok', ok.state.detail);
  assert.equal(ok.state.schema_version, latestVersion());

  const open = home(t, 0o755);
  const warn = await runDoctor({ env: env(open) });
  assert.equal(warn.state.status, 'warn');
  assert.match(warn.state.fix!, /chmod 700/);

  const corrupt = home(t);
  writeFileSync(join(corrupt, 'state.sqlite'), 'not a database '.repeat(50));
  const bad = await runDoctor({ env: env(corrupt) });
  assert.equal(bad.state.status, 'fail');
  assert.match(bad.state.detail, /file is not a database/);
  assert.ok(bad.state.detail.includes(join(corrupt, 'state.sqlite')));

  const newer = home(t);
  const f = new DatabaseSync(join(newer, 'state.sqlite'));
  f.exec(`PRAGMA user_version = ${latestVersion() + 1}`);
  f.close();
  const tooNew = await runDoctor({ env: env(newer) });
  assert.equal(tooNew.state.status, 'fail');
  assert.match(tooNew.state.detail, /newer than this second-brain/);
});

test('node version and telemetry: an old Node fails; an unreachable collector fails, a local files dir is checked', async (t) => {
  const dead = await closedPort();
  const h = home(t);
  const r = await runDoctor({ env: { SECOND_BRAIN_HOME: h, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${dead}` }, nodeVersion: '20.11.1', timeoutMs: 2_000 });
  assert.equal(r.node.status, 'fail');
  assert.match(r.node.fix!, /bin\/second-brain\.js/);
  assert.equal(r.telemetry.traces?.status, 'fail');
  assert.match(r.telemetry.traces.detail, /unreachable.*ECONNREFUSED/);

  mkdirSync(join(h, 'telemetry'));
  const files = await runDoctor({ env: { SECOND_BRAIN_HOME: h } });
  assert.equal(files.telemetry.files?.status, 'ok');
  assert.match(files.telemetry.files.detail, /writable/);
});

test('the CLI prints a table or JSON and exits 1 only when a check fails', async (t) => {
  const lines: string[] = [];
  const h = home(t);
  const code = await runDoctorCli({ json: true, out: (l) => lines.push(l), env: { SECOND_BRAIN_HOME: h, OTEL_SDK_DISABLED: 'true' } });
  assert.equal(code, 0);
  const parsed = JSON.parse(lines.join('\n'));
  assert.equal(parsed.ok, true);
  assert.deepEqual(Object.keys(parsed.providers), ['openai', 'xai', 'gemini']);

  const dead = await closedPort();
  const table: string[] = [];
  const failed = await runDoctorCli({ json: false, out: (l) => table.push(l), env: { SECOND_BRAIN_HOME: h, OTEL_SDK_DISABLED: 'true', OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `http://127.0.0.1:${dead}/v1` }, timeoutMs: 2_000 });
  assert.equal(failed, 1);
  assert.match(table.join('\n'), /provider openai\s+FAIL\s+unreachable[\s\S]*→ Check the network and OPENAI_BASE_URL/);
  assert.match(formatDoctorReport(await runDoctor({ env: { SECOND_BRAIN_HOME: h, OTEL_SDK_DISABLED: 'true' } })), /All checks passed\./);
});

test('a read-only state dir fails with the path and what to do', async (t) => {
  const dir = join(home(t), 'ro');
  mkdirSync(dir, { mode: 0o700 });
  const root = process.getuid?.() === 0;
  if (root) {
    // chmod does not stop root; a read-only mount does.
    try { execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,mode=0700,size=64k', 'tmpfs', dir], { stdio: 'ignore', timeout: patience(5_000) }); } catch { t.skip('root without tmpfs mounts cannot make a read-only dir'); return; }
  } else {
    chmodSync(dir, 0o500);
  }
  try {
    const r = await runDoctor({ env: { SECOND_BRAIN_HOME: dir, OTEL_SDK_DISABLED: 'true' } });
    assert.equal(r.state.status, 'fail');
    assert.match(r.state.detail, new RegExp(`^${dir} is not writable by this user \\((EROFS|EACCES)`));
    assert.match(r.state.fix!, /chmod u\+rwx.*SECOND_BRAIN_HOME/);
    assert.equal(r.ok, false);
  } finally {
    if (root) execFileSync('umount', [dir], { stdio: 'ignore', timeout: patience(5_000) }); else chmodSync(dir, 0o700);
  }
});
