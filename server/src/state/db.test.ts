import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { latestVersion, openDatabase, schemaVersion } from './db.ts';
import { MIGRATIONS } from './migrations.ts';
import { SessionStore } from './sessions.ts';
import { JobStore } from './jobs.ts';
import { ErrorCode, isSbError } from '../errors.ts';
import { patience } from '@second-brain/harness';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// The sessions and jobs tables exactly as a state dir from before versioning has them
// (user_version 0). Frozen here on purpose: this is the shape that exists in the field.
const VERSION_0_DDL = `
CREATE TABLE sessions (
  session_id TEXT NOT NULL, model TEXT NOT NULL, last_response_id TEXT,
  turns INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, model)
);
CREATE TABLE session_turns (
  session_id TEXT NOT NULL, model TEXT NOT NULL, turn INTEGER NOT NULL, question TEXT NOT NULL,
  answer TEXT NOT NULL, response_id TEXT, created_ms INTEGER NOT NULL, PRIMARY KEY (session_id, model, turn)
);
CREATE TABLE jobs (
  id TEXT PRIMARY KEY, tool TEXT NOT NULL, args_json TEXT NOT NULL, status TEXT NOT NULL,
  result_json TEXT, error TEXT, error_code TEXT, response_id TEXT, owner_pid INTEGER,
  owner_instance TEXT, progress TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
INSERT INTO sessions VALUES ('review-auth', 'o3', 'resp_old_1', 1, 1000, 2000);
INSERT INTO session_turns VALUES ('review-auth', 'o3', 1, 'what does auth do?', 'it checks tokens', 'resp_old_1', 2000);
INSERT INTO jobs VALUES ('job_old_1', 'chat_with_o3_pro', '{"instructions":"x","session_id":"s"}', 'running', NULL, NULL, NULL, 'resp_bg_1', 4242, 'inst-old', 'polling', 1000, 3000);
`;

test('a state dir from before versioning (version 0) opens, keeps its sessions and jobs, and is stamped with the latest version', (t) => {
  const path = join(tempDir(t), 'state.sqlite');
  const old = new DatabaseSync(path);
  old.exec(VERSION_0_DDL);
  assert.equal(schemaVersion(old), 0);
  old.close();

  const db = openDatabase(path);
  assert.equal(schemaVersion(db), latestVersion());
  const sessions = new SessionStore(db);
  assert.equal(sessions.get('review-auth', 'o3')?.last_response_id, 'resp_old_1');
  assert.deepEqual(sessions.history('review-auth', 'o3').map((m) => m.content), ['what does auth do?', 'it checks tokens']);
  const job = new JobStore(db, 'inst-new').get('job_old_1');
  assert.equal(job?.status, 'running');
  assert.equal(job?.response_id, 'resp_bg_1');
  // The old file keeps working for new writes.
  assert.equal(sessions.recordTurn('review-auth', 'o3', 'and then?', 'then it refreshes', 'resp_old_2'), 2);
  db.close();
});

test('migrations run in order, once each, and stamp user_version', (t) => {
  const path = join(tempDir(t), 'state.sqlite');
  const ran: number[] = [];
  const migrations = [
    ...MIGRATIONS,
    { version: latestVersion() + 2, name: 'second', up: (d: DatabaseSync) => { ran.push(2); d.exec('ALTER TABLE extra ADD COLUMN b TEXT'); } },
    { version: latestVersion() + 1, name: 'first', up: (d: DatabaseSync) => { ran.push(1); d.exec('CREATE TABLE extra (a TEXT)'); } },
  ];
  const db = openDatabase(path, { migrations });
  assert.deepEqual(ran, [1, 2]);
  assert.equal(schemaVersion(db), latestVersion() + 2);
  db.prepare('INSERT INTO extra (a, b) VALUES (?, ?)').run('x', 'y');
  db.close();
  openDatabase(path, { migrations }).close();
  assert.deepEqual(ran, [1, 2], 'a reopened file applies nothing twice');
});

test('the migration list has versions 1, 2, 3, … with no gaps', () => {
  assert.deepEqual(MIGRATIONS.map((m) => m.version), MIGRATIONS.map((_, i) => i + 1));
});

test('a state dir written by a newer schema is refused with its version, the path and what to do', (t) => {
  const path = join(tempDir(t), 'state.sqlite');
  const future = new DatabaseSync(path);
  future.exec(`CREATE TABLE sessions (session_id TEXT); PRAGMA user_version = ${latestVersion() + 5}`);
  future.close();
  assert.throws(() => openDatabase(path), (err: unknown) => {
    assert.ok(isSbError(err, ErrorCode.STATE_TOO_NEW), String(err));
    assert.ok(err.message.includes(path));
    assert.match(err.message, new RegExp(`schema version ${latestVersion() + 5}, newer than .*\\(${latestVersion()}\\)`));
    assert.match(err.message, /SECOND_BRAIN_HOME/);
    return true;
  });
  // Nothing was written to it.
  const again = new DatabaseSync(path);
  assert.equal(schemaVersion(again), latestVersion() + 5);
  again.close();
});

test('a corrupt state file ("file is not a database") is named with what to do', (t) => {
  const path = join(tempDir(t), 'state.sqlite');
  writeFileSync(path, 'this is not a SQLite file '.repeat(40));
  assert.throws(() => openDatabase(path), (err: unknown) => {
    assert.ok(isSbError(err, ErrorCode.STATE_CORRUPT), String(err));
    assert.ok(err.message.includes(path));
    assert.match(err.message, /file is not a database/);
    assert.match(err.message, /Move it aside \(mv /);
    return true;
  });
});

test('opening a new state dir waits for another process that holds the write lock, then migrates once', { timeout: patience(20_000) }, async (t) => {
  const path = join(tempDir(t), 'state.sqlite');
  // A second process creates the file and holds a write transaction for 400 ms.
  const holder = spawn(process.execPath, ['-e', `
    const { DatabaseSync } = require('node:sqlite');
    const db = new DatabaseSync(${JSON.stringify(path)});
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('BEGIN IMMEDIATE');
    db.exec('CREATE TABLE holder (x)');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, 400);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => holder.kill());
  await once(holder.stdout, 'data');
  const started = Date.now();
  const db = openDatabase(path);
  assert.ok(Date.now() - started >= 200, 'it waited for the lock');
  assert.equal(schemaVersion(db), latestVersion());
  db.close();
});
