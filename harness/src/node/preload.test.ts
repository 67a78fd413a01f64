import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { patience } from '../reference/patience.ts';

const PRELOAD = fileURLToPath(new URL('./preload.ts', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/preload-child.ts', import.meta.url));

let child: ChildProcessWithoutNullStreams;
let lines: AsyncIterator<string>;
let stderr = '';
let controlUrl: string;
let otherServer: Server;

async function send(command: string): Promise<any> {
  child.stdin.write(`${command}\n`);
  const next = await lines.next();
  assert.ok(!next.done, `child exited; stderr: ${stderr}`);
  return JSON.parse(next.value);
}

async function control(path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${controlUrl}${path}`, body === undefined ? undefined : { method: 'POST', body: JSON.stringify(body) });
  return res.json();
}

before(async () => {
  otherServer = createServer((_req, res) => res.end('not intercepted'));
  await new Promise<void>((resolve) => otherServer.listen(0, '127.0.0.1', resolve));
  const controlFile = join(mkdtempSync(join(tmpdir(), 'sb-preload-')), 'control.json');
  child = spawn(process.execPath, ['--import', PRELOAD, CHILD], {
    env: {
      ...process.env,
      SB_FAKE_CONFIG: JSON.stringify({ faults: [{ route: 'responses.create', fault: { type: 'hang' } }] }),
      SB_FAKE_CONTROL_FILE: controlFile,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const deadline = Date.now() + patience(5_000);
  while (!existsSync(controlFile)) {
    assert.ok(Date.now() < deadline, `control file never appeared; stderr: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const info = JSON.parse(readFileSync(controlFile, 'utf8'));
  assert.equal(info.pid, child.pid);
  controlUrl = info.url;
});

after(async () => {
  child?.kill();
  await new Promise<void>((resolve) => otherServer.close(() => resolve()));
});

describe('preload (in-process msw in another process)', () => {
  test('intercepts the fake bases and reports through the control server', { timeout: patience(8_000) }, async () => {
    assert.deepEqual(await send('list'), { ok: true, count: 0 });
    await control('/seed', { files: [{ filename: 'a.txt', content: 'a' }] });
    assert.deepEqual(await send('list'), { ok: true, count: 1 });
  });

  test('a client abort in the child shows in the journal', { timeout: patience(8_000) }, async () => {
    const result = await send('hang');
    assert.equal(result.name, 'APIUserAbortError');
    const { entries } = await control('/journal');
    const hung = entries.find((e: { route: string }) => e.route === 'responses.create');
    assert.equal(hung.aborted, true);
    assert.equal(hung.keyLast4, '4242');
    assert.ok(hung.abortedAtMs > hung.startMs);
    assert.equal(hung.status, null, 'no response was ever sent');
  });

  test('faults change at run time; other loopback traffic passes through silently', { timeout: patience(8_000) }, async () => {
    await control('/faults', { route: 'files.list', times: 1, fault: { type: 'status', status: 503 } });
    assert.deepEqual(await send('list'), { ok: false, name: 'InternalServerError', status: 503 });
    assert.equal((await send('list')).ok, true);
    const port = (otherServer.address() as AddressInfo).port;
    assert.deepEqual(await send(`fetch http://127.0.0.1:${port}/v1/traces`), { ok: true, text: 'not intercepted' });
    assert.equal(stderr, '', 'the preload writes nothing, and msw does not warn');
  });
});
