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
import { ensurePrivateDir, ensurePrivateFile, tightenFile } from './private-files.ts';

export type Db = DatabaseSync;

/** Milliseconds SQLite may block synchronously on a lock before reporting SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 20;
/** Total time a transaction keeps retrying SQLITE_BUSY before failing. */
const TX_RETRY_BUDGET_MS = 10_000;

const schemas: Array<{ name: string; sql: string }> = [];

/** Registers a module's schema (idempotent CREATE ... IF NOT EXISTS statements). */
export function registerSchema(name: string, sql: string): void {
  if (!schemas.some((s) => s.name === name)) schemas.push({ name, sql });
}

/** Opens (creating if needed) the state database at `path` and applies every registered schema. */
export function openDatabase(path: string): Db {
  // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database file's mode.
  if (path !== ':memory:') {
    ensurePrivateDir(dirname(path));
    ensurePrivateFile(path);
  }
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.exec('PRAGMA journal_mode = WAL');
  if (path !== ':memory:') for (const suffix of ['-wal', '-shm']) tightenFile(path + suffix);
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA foreign_keys = ON');
  applySchemas(db);
  return db;
}

/** Applies every schema registered so far; call again after importing a module that registers one. */
export function applySchemas(db: Db): void {
  for (const s of schemas) db.exec(s.sql);
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
      try { db.exec('ROLLBACK'); } catch { /* already rolled back */ }
      throw err;
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
    try { db.exec('ROLLBACK'); } catch { /* ignore */ }
    throw err;
  }
}
