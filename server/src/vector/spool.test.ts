/**
 * Large upload bodies go out from a private spool file (vector/spool.ts): the file holds
 * the exact bytes, is private, and is gone once the request ends, whether it was sent,
 * cancelled or the process died (the start-up sweep).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spoolUpload, sweepSpool } from './spool.ts';
import { VectorStoreManager } from './manager.ts';
import { DEFAULTS } from '../config/defaults.ts';
import type { AttachFile } from './types.ts';
import { FAST_LIMITS, entriesOf, startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

test('spoolUpload: a private file with the exact bytes, read back through the File; release deletes it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sb-spool-'));
  try {
    const dir = join(root, 'upload-spool');
    const bytes = Buffer.from('héllo\n'.repeat(1_000));
    const s = await spoolUpload(dir, bytes, 'a.txt', 'text/plain', AbortSignal.timeout(patience(5_000)));
    const name = readdirSync(dir)[0] ?? '';
    assert.ok(name.startsWith(`${process.pid}-`), `named after this process: ${name}`);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600);
    assert.equal(s.file.name, 'a.txt');
    assert.equal(s.file.type, 'text/plain');
    assert.ok(Buffer.from(await s.file.arrayBuffer()).equals(bytes), 'the same bytes');
    await s.release();
    assert.deepEqual(readdirSync(dir), []);
    await s.release(); // twice is harmless
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('sweepSpool deletes the files of processes that are gone and keeps those of live ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-spool-'));
  try {
    const child = spawnSync(process.execPath, ['-e', '0']);
    const deadPid = child.pid;
    writeFileSync(join(dir, `${deadPid}-00aa.upload`), 'x');
    writeFileSync(join(dir, `${process.pid}-00bb.upload`), 'x');
    writeFileSync(join(dir, 'notes.txt'), 'not a spool file');
    assert.equal(await sweepSpool(dir), 1);
    assert.deepEqual(readdirSync(dir).sort(), [`${process.pid}-00bb.upload`, 'notes.txt']);
    assert.equal(await sweepSpool(join(dir, 'missing')), 0, 'no spool dir yet: nothing to do');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function bigFiles(n: number, bytes: number): AttachFile[] {
  return Array.from({ length: n }, (_, i) => {
    const rel = `big/part_${i}.txt`;
    const text = `// ${rel}\n`.padEnd(bytes - 1, 'y') + '\n';
    return { absPath: `/nonexistent/${rel}`, relPath: rel, size: text.length, mtimeMs: 1, bytes: Buffer.from(text) };
  });
}

test('a bundle over the spool size is uploaded from the spool, arrives intact, and leaves no spool file', { timeout: patience(30_000) }, async () => {
  const f = startFake();
  const st = tempState();
  const spoolDir = join(st.dir, 'upload-spool');
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'spool1', serverName: 'second-brain', spoolDir, limits: FAST_LIMITS });
    const files = bigFiles(3, Math.ceil(DEFAULTS.UPLOAD_SPOOL_MIN_BYTES / 2));
    const r = await m.attachOverflow({ sessionId: 's', files, signal: AbortSignal.timeout(patience(20_000)) });
    assert.equal(r.failed.length, 0);
    const uploads = entriesOf(f.fake, 'files.create');
    assert.ok(uploads.length >= 1);
    const stored = [...f.fake.state.files.values()];
    assert.ok(stored.some((x) => Buffer.byteLength(x.content) >= DEFAULTS.UPLOAD_SPOOL_MIN_BYTES), 'one upload large enough to be spooled');
    const all = stored.map((x) => x.content).join('');
    for (const file of files) assert.ok(all.includes(Buffer.from(file.bytes!).toString()), `${file.relPath} arrived intact`);
    assert.deepEqual(readdirSync(spoolDir), [], 'the spool is empty after the upload');
  } finally {
    f.close();
    st.cleanup();
  }
});

test('a cancelled spooled upload leaves no spool file', { timeout: patience(30_000) }, async () => {
  const f = startFake({ faults: [{ route: 'files.create', fault: { type: 'latency', ms: 10_000 } }] });
  const st = tempState();
  const spoolDir = join(st.dir, 'upload-spool');
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'spool2', serverName: 'second-brain', spoolDir, limits: FAST_LIMITS });
    const ac = new AbortController();
    const attach = m.attachOverflow({ sessionId: 's', files: bigFiles(3, Math.ceil(DEFAULTS.UPLOAD_SPOOL_MIN_BYTES / 2)), signal: ac.signal });
    // Wait until the request is out (its spool file exists), then cancel.
    const deadline = performance.now() + patience(10_000);
    while (entriesOf(f.fake, 'files.create').length === 0 && performance.now() < deadline) await sleep(10);
    assert.ok(entriesOf(f.fake, 'files.create').length > 0, 'the upload started');
    assert.ok(readdirSync(spoolDir).length > 0, 'the body is being sent from the spool');
    ac.abort();
    await assert.rejects(attach);
    assert.deepEqual(readdirSync(spoolDir), [], 'the spool is empty after the cancel');
  } finally {
    f.close();
    st.cleanup();
  }
});
