import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from './db.ts';
import { SessionStore } from './sessions.ts';
import { ErrorCode, isSbError, type SbError } from '../errors.ts';
import { patience } from '@second-brain/harness';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Mounts a tmpfs at `dir` (root only); false when this machine does not allow it. */
function mountTmpfs(dir: string, opts: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { stdio: 'ignore', timeout: patience(5_000) });
    return true;
  } catch { return false; }
}
function unmount(dir: string): void {
  try { execFileSync('umount', [dir], { stdio: 'ignore', timeout: patience(5_000) }); } catch { /* already gone */ }
}

function fillUntilFull(db: Db): unknown {
  const sessions = new SessionStore(db);
  for (let i = 0; i < 10_000; i++) {
    try { sessions.recordTurn(`s${i}`, 'o3', 'q'.repeat(2_000), 'a'.repeat(2_000), `resp_${i}`); } catch (err) { return err; }
  }
  return undefined;
}

function assertDiskFull(err: unknown, path: string): asserts err is SbError {
  assert.ok(isSbError(err, ErrorCode.STATE_DISK_FULL), `expected SB_ERR_STATE_DISK_FULL, got ${String(err)}`);
  assert.doesNotMatch(err.message, /cannot rollback/);
  assert.ok(err.message.includes(path), err.message);
  assert.match(err.message, /disk is full.*Free space/);
}

test('a full database mid-transaction reports the full disk and the path, not "cannot rollback - no transaction is active"', (t) => {
  const path = join(tempDir(t), 'state.sqlite');
  const db = openDatabase(path);
  // SQLite's own cap on the file's size: it answers SQLITE_FULL exactly as on a full disk,
  // and ends the transaction itself, which is where the "cannot rollback" message came from.
  db.exec('PRAGMA max_page_count = 40');
  const err = fillUntilFull(db);
  assertDiskFull(err, path);
  assert.equal(db.isTransaction, false);
  db.close();
});

test('a state dir on a full file system (64 KiB tmpfs) reports the full disk and the path', (t) => {
  const dir = join(tempDir(t), 'tiny');
  mkdirSync(dir);
  if (process.getuid?.() !== 0 || !mountTmpfs(dir, 'size=64k')) { t.skip('needs root and tmpfs mounts; the max_page_count test covers the same path'); return; }
  const path = join(dir, 'state.sqlite');
  let err: unknown;
  try {
    const db = openDatabase(path);
    err = fillUntilFull(db);
    try { db.close(); } catch { /* may fail on a full disk */ }
  } catch (e) {
    err = e;
  } finally {
    unmount(dir);
  }
  assertDiskFull(err, path);
});

test('a read-only state dir stops the open with the path and what to do', (t) => {
  const dir = join(tempDir(t), 'ro');
  mkdirSync(dir);
  if (process.getuid?.() === 0) {
    // chmod does not stop root; a read-only mount does.
    if (!mountTmpfs(dir, 'ro,size=64k')) { t.skip('root without tmpfs mounts cannot make a read-only dir'); return; }
  } else {
    chmodSync(dir, 0o555);
  }
  try {
    for (const path of [join(dir, 'state.sqlite'), join(dir, 'home', 'state.sqlite')]) {
      assert.throws(() => openDatabase(path), (err: unknown) => {
        assert.ok(isSbError(err, ErrorCode.STATE_UNWRITABLE), `expected SB_ERR_STATE_UNWRITABLE, got ${String(err)}`);
        assert.ok(err.message.includes(path), err.message);
        assert.match(err.message, /cannot be written.*SECOND_BRAIN_HOME/);
        return true;
      });
    }
  } finally {
    if (process.getuid?.() === 0) unmount(dir); else chmodSync(dir, 0o755);
  }
});
