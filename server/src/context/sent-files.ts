/**
 * Per-session memory of the files that went inline, so a follow-up in the same conversation
 * resends only what changed. A file counts as unchanged when its size and mtime match the
 * record; when they differ, the sha256 decides (a `touch` or a checkout that rewrites the
 * same bytes does not cause a resend).
 *
 * node:sqlite runs on the event loop, so each session's rows are read with one statement and
 * writes go in transactions of SENT_WRITE_CHUNK rows with a yield between them.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { registerSchema, withTransaction, type Db } from '../state/db.ts';
import { ErrorCode, SbError, throwIfAborted } from '../errors.ts';
import { fileContent } from './content.ts';
import { hashContent } from './tokenizer.ts';
import { ESTIMATE_BYTES_PER_TOKEN } from './tokenizer.ts';
import type { GatheredFile } from './types.ts';

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS context_sent_files (
  session_id TEXT NOT NULL,
  path       TEXT NOT NULL,
  size       INTEGER NOT NULL,
  mtime_ms   REAL NOT NULL,
  sha256     TEXT NOT NULL,
  tokens     INTEGER,
  sent_at_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, path)
) WITHOUT ROWID;
`;
registerSchema('context_sent_files', SCHEMA_SQL);

/** Rows written per transaction. */
const SENT_WRITE_CHUNK = 500;

// A database opened before this module was imported has not had the schema applied yet.
const ready = new WeakSet<Db>();
function ensureSchema(db: Db): void {
  if (ready.has(db)) return;
  db.exec(SCHEMA_SQL);
  ready.add(db);
}

interface SentRow { path: string; size: number; mtime_ms: number; sha256: string; tokens: number | null }

export interface SentFilter<T extends GatheredFile> {
  /** Files to send: never sent in this session, or changed since. */
  toSend: T[];
  /** Files sent earlier in this session and unchanged, with the tokens recorded when they were sent. */
  alreadySent: Array<T & { tokens: number }>;
  /** Sum of `alreadySent` tokens: they sit in the conversation and still take room in the window. */
  alreadySentTokens: number;
}

/**
 * Splits `files` into those to send and those this session already received unchanged.
 * Files whose size or mtime changed are hashed (sha256 is stored on the file object);
 * when only the metadata moved, the stored size and mtime are refreshed so the next check
 * is cheap again.
 */
export async function filterUnchanged<T extends GatheredFile>(db: Db, sessionId: string, files: readonly T[], signal: AbortSignal): Promise<SentFilter<T>> {
  checkSession(sessionId);
  throwIfAborted(signal);
  ensureSchema(db);
  if (files.length === 0) return { toSend: [], alreadySent: [], alreadySentTokens: 0 };
  const rows = db.prepare('SELECT path, size, mtime_ms, sha256, tokens FROM context_sent_files WHERE session_id = ?').all(sessionId) as unknown as SentRow[];
  if (rows.length === 0) return { toSend: [...files], alreadySent: [], alreadySentTokens: 0 };
  const byPath = new Map(rows.map((r) => [r.path, r]));

  const toSend: T[] = [];
  const sent: T[] = [];
  const needHash: T[] = [];
  for (const f of files) {
    const row = byPath.get(f.absPath);
    if (!row) toSend.push(f);
    else if (row.size === f.size && row.mtime_ms === f.mtimeMs) sent.push(f);
    else if (row.size !== f.size) toSend.push(f); // a different length is different content
    else needHash.push(f);
  }
  if (needHash.length > 0) {
    await fillHashes(needHash, signal);
    const refreshed: T[] = [];
    for (const f of needHash) {
      if (f.sha256 === byPath.get(f.absPath)!.sha256) {
        sent.push(f);
        refreshed.push(f);
      } else {
        toSend.push(f);
      }
    }
    if (refreshed.length > 0) {
      for (const f of refreshed) (f as GatheredFile & { tokens?: number }).tokens ??= byPath.get(f.absPath)!.tokens ?? undefined;
      await upsert(db, sessionId, refreshed, signal);
    }
  }
  let alreadySentTokens = 0;
  const alreadySent = sent.map((f) => {
    // Rows recorded without a count fall back to the byte estimate.
    const tokens = byPath.get(f.absPath)!.tokens ?? Math.ceil(f.size / ESTIMATE_BYTES_PER_TOKEN);
    alreadySentTokens += tokens;
    return Object.assign(f, { tokens });
  });
  return { toSend, alreadySent, alreadySentTokens };
}

/**
 * Records that `files` went inline in this session (call it once the provider accepted the
 * request, so a failed call never marks files as sent). Missing sha256 values are computed;
 * `tokens`, when the files carry it, is kept so follow-ups can budget for them.
 */
export async function recordSent(db: Db, sessionId: string, files: ReadonlyArray<GatheredFile & { tokens?: number }>, signal: AbortSignal): Promise<void> {
  checkSession(sessionId);
  throwIfAborted(signal);
  ensureSchema(db);
  if (files.length === 0) return;
  await fillHashes(files.filter((f) => !f.sha256), signal);
  await upsert(db, sessionId, files, signal);
}

/** Forgets every file recorded for the session (the conversation starts afresh). */
export async function forgetSent(db: Db, sessionId: string, signal: AbortSignal): Promise<void> {
  checkSession(sessionId);
  throwIfAborted(signal);
  ensureSchema(db);
  await withTransaction(db, () => {
    db.prepare('DELETE FROM context_sent_files WHERE session_id = ?').run(sessionId);
  }, signal);
}

async function fillHashes(files: readonly GatheredFile[], signal: AbortSignal): Promise<void> {
  const missing = files.filter((f) => !f.sha256);
  if (missing.length === 0) return;
  const contents = missing.map((f) => {
    const c = fileContent(f);
    if (typeof c === 'string' && f.text === undefined) {
      throw new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to track sent files: ${f.relPath} has neither text nor sha256. Pass gathered files.`, { details: { path: f.relPath } });
    }
    return c;
  });
  const hashes = await hashContent(contents, signal);
  missing.forEach((f, i) => { f.sha256 = hashes[i]!; });
}

async function upsert(db: Db, sessionId: string, files: ReadonlyArray<GatheredFile & { tokens?: number }>, signal: AbortSignal): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < files.length; i += SENT_WRITE_CHUNK) {
    const chunk = files.slice(i, i + SENT_WRITE_CHUNK);
    await withTransaction(db, () => {
      const stmt = db.prepare(`INSERT INTO context_sent_files (session_id, path, size, mtime_ms, sha256, tokens, sent_at_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (session_id, path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256,
          tokens = coalesce(excluded.tokens, tokens), sent_at_ms = excluded.sent_at_ms`);
      for (const f of chunk) stmt.run(sessionId, f.absPath, f.size, f.mtimeMs, f.sha256!, Number.isFinite(f.tokens) ? f.tokens! : null, now);
    }, signal);
    if (i + SENT_WRITE_CHUNK < files.length) await yieldToLoop(undefined, { signal }).catch(() => throwIfAborted(signal));
  }
}

function checkSession(sessionId: unknown): void {
  if (typeof sessionId !== 'string' || sessionId === '') {
    throw new SbError(ErrorCode.INVALID_ARGUMENT, 'Failed to track sent files: sessionId must be a non-empty string.', { details: { option: 'sessionId' } });
  }
}
