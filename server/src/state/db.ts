/**
 * SQLite state (node:sqlite, built into Node 24: no native addon to compile).
 *
 * node:sqlite is synchronous, so every statement runs on the event loop. Keep statements
 * small and never let SQLite wait on a lock synchronously for long: busy_timeout is short
 * and `withTransaction` retries SQLITE_BUSY with async sleeps instead (KI-12/KI-20: a
 * second process holding the write lock must not freeze this one's loop).
 */
import { DatabaseSync } from 'node:sqlite';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SbError, throwIfAborted } from '../errors.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';
import { stateError, stateFailureKind } from './state-errors.ts';
import { ensurePrivateDir, ensurePrivateFile, tightenFile } from './private-files.ts';

export type Db = DatabaseSync;

const BUSY_TIMEOUT_MS = DEFAULTS.STATE_BUSY_TIMEOUT_MS;
const TX_RETRY_BUDGET_MS = DEFAULTS.STATE_TX_RETRY_BUDGET_MS;

const schemas: Array<{ name: string; sql: string }> = [];

/**
 * Registers a module's tables (idempotent `CREATE … IF NOT EXISTS` statements), applied on
 * every open before the migrations. Once released, a registered table's DDL is frozen: a
 * change to its shape is a migration appended to `MIGRATIONS` (state/migrations.ts), so an
 * old state dir and a new one end in the same shape. A new table may be a new registered
 * schema.
 */
export function registerSchema(name: string, sql: string): void {
  if (!schemas.some((s) => s.name === name)) schemas.push({ name, sql });
}

export interface OpenDatabaseOptions {
  /** The ordered migrations to apply; default `MIGRATIONS`. Tests pass their own list. */
  migrations?: readonly Migration[];
}

/**
 * Opens (creating if needed) the state database at `path`, applies every registered schema
 * and then each migration newer than the file's `PRAGMA user_version`.
 *
 * @throws SbError SB_ERR_STATE_TOO_NEW when the file was written by a newer schema;
 *   SB_ERR_STATE_CORRUPT, SB_ERR_STATE_UNWRITABLE, SB_ERR_STATE_DISK_FULL naming the path
 *   and what to do when it cannot be opened.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Db {
  const migrations = options.migrations ?? MIGRATIONS;
  let db: Db | undefined;
  try {
    // 0700 dir, 0600 file whatever the umask: the state holds questions, answers and file
    // digests. The file is created before SQLite opens it, since SQLite gives its -wal and
    // -shm files the database file's mode.
    if (path !== ':memory:') {
      ensurePrivateDir(dirname(path));
      ensurePrivateFile(path);
    }
    db = new DatabaseSync(path);
    // Several processes may open a new state dir at once (KI-18): wait for each other here.
    db.exec(`PRAGMA busy_timeout = ${DEFAULTS.STATE_OPEN_BUSY_TIMEOUT_MS}`);
    // The first statement that reads the file: a corrupt one fails here, before anything is written.
    const found = schemaVersion(db);
    const latest = latestVersion(migrations);
    if (found > latest) {
      throw new SbError(ErrorCode.STATE_TOO_NEW, `Failed to open the state database ${path}: it has schema version ${found}, newer than this second-brain understands (${latest}). Run the newer second-brain that wrote it, or set SECOND_BRAIN_HOME to another directory.`, { details: { path, found, latest } });
    }
    db.exec('PRAGMA journal_mode = WAL');
    if (path !== ':memory:') for (const suffix of ['-wal', '-shm']) tightenFile(path + suffix);
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA foreign_keys = ON');
    applySchemas(db);
    migrate(db, migrations);
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return db;
  } catch (err) {
    try { db?.close(); } catch { /* not open */ }
    throw stateError(err, path, 'open');
  }
}

/** The file's schema version (`PRAGMA user_version`; 0 for a file made before versioning, or a new one). */
export function schemaVersion(db: Db): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}

/** The highest version in a migration list. */
export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

/**
 * Applies, in order, each migration newer than the file's version, each in its own
 * transaction that also stamps `user_version`, so a crash between two leaves a consistent file.
 */
function migrate(db: Db, migrations: readonly Migration[]): void {
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= schemaVersion(db)) continue;
    transactionSync(db, () => {
      // Another process may have applied it while this one waited for the write lock.
      if (m.version <= schemaVersion(db)) return;
      m.up(db);
      // PRAGMA takes no bound parameters; the version is an integer from the list.
      db.exec(`PRAGMA user_version = ${Math.trunc(m.version)}`);
    });
  }
}

/** Applies every schema registered so far; call again after importing a module that registers one. */
export function applySchemas(db: Db): void {
  for (const s of schemas) db.exec(s.sql);
}

/** A file path for messages: the database's own file, or "(in memory)". */
function dbPathOf(db: Db): string {
  try { return db.location() ?? '(in memory)'; } catch { return '(closed database)'; }
}

function isBusy(err: unknown): boolean {
  const e = err as { code?: string; errcode?: number; message?: string };
  return e?.errcode === 5 || e?.errcode === 6 || /SQLITE_BUSY|database is locked/i.test(String(e?.message));
}

/**
 * Runs `fn` inside BEGIN IMMEDIATE … COMMIT. `fn` must be synchronous (no awaits inside a
 * transaction). SQLITE_BUSY is retried with short async sleeps, bounded by a budget and the signal.
 */
export async function withTransaction<T>(db: Db, fn: () => T, signal?: AbortSignal): Promise<T> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      if (isBusy(err) && Date.now() - started < TX_RETRY_BUDGET_MS) {
        await sleep(Math.min(5 + attempt * 5, 50), undefined, { signal });
        continue;
      }
      throw new SbError(ErrorCode.INTERNAL, 'Failed to open a state transaction: the state database stayed locked. Try again.', { cause: err });
    }
    try {
      const out = fn();
      db.exec('COMMIT');
      return out;
    } catch (err) {
      rollbackQuietly(db);
      throw storageError(db, err);
    }
  }
}

/** Runs `fn` synchronously inside a transaction when no lock contention is expected (single statement groups). */
export function transactionSync<T>(db: Db, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const out = fn();
    db.exec('COMMIT');
    return out;
  } catch (err) {
    rollbackQuietly(db);
    throw storageError(db, err);
  }
}

/**
 * Rolls back if a transaction is still open. SQLite ends the transaction itself on
 * SQLITE_FULL, SQLITE_IOERR and a few others; a blind ROLLBACK then throws "cannot rollback -
 * no transaction is active", which would hide the real cause.
 */
function rollbackQuietly(db: Db): void {
  if (!db.isTransaction) return;
  try { db.exec('ROLLBACK'); } catch { /* the original error is the one to report */ }
}

/** A storage failure (disk full, read-only, corrupt) as an SbError naming the file; other errors unchanged. */
export function storageError(db: Db, err: unknown): unknown {
  // Only SQLite's own errors (they carry errcode); an errno here is not about the state file.
  const fromSqlite = typeof (err as { errcode?: unknown } | undefined)?.errcode === 'number';
  return fromSqlite && stateFailureKind(err) !== undefined ? stateError(err, dbPathOf(db), 'write') : err;
}
