/**
 * Synchronous SQL over the vector-store tables (schema.ts). Every method is one or a
 * few short statements; writers call them inside `withTransaction` so SQLITE_BUSY from
 * another process is retried with async sleeps instead of blocking the loop.
 */
import type { StatementSync } from 'node:sqlite';
import type { Db } from '../state/db.ts';
import './schema.ts';

export interface InstanceRow { instance_id: string; pid: number; host: string; started_at: number; last_seen_at: number }
export interface StoreRow {
  store_id: string; kind: string; scope: string; instance_id: string;
  created_at: number; last_used_at: number; completed: number; state: string;
}
export interface FileRow {
  sha256: string; rel_path: string; file_id: string | null; state: 'uploading' | 'ready';
  lease_owner: string | null; lease_expires_at: number | null; bytes: number; created_at: number;
}
export interface StoreFileRow {
  store_id: string; rel_path: string; sha256: string; file_id: string | null;
  abs_path: string | null; state: 'pending' | 'attached'; updated_at: number;
}
export interface JournalRow { id: number; owner: string; sha256: string; rel_path: string; filename: string; bytes: number; started_at: number; state: string }
export type PendingDeleteKind = 'store_file' | 'store' | 'file';
export interface PendingDeleteRow {
  kind: PendingDeleteKind; target_id: string; store_id: string; attempts: number;
  next_attempt_at: number; last_error: string | null; created_at: number;
}

export class VectorState {
  readonly db: Db;
  readonly #stmts = new Map<string, StatementSync>();

  constructor(db: Db) {
    this.db = db;
  }

  #s(sql: string): StatementSync {
    let st = this.#stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.#stmts.set(sql, st);
    }
    return st;
  }

  // ---- instances -------------------------------------------------------------------

  upsertInstance(id: string, pid: number, host: string, now: number): void {
    this.#s(`INSERT INTO vs_instances (instance_id, pid, host, started_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(instance_id) DO UPDATE SET pid = excluded.pid, host = excluded.host, last_seen_at = excluded.last_seen_at`)
      .run(id, pid, host, now, now);
  }

  touchInstance(id: string, now: number): void {
    this.#s('UPDATE vs_instances SET last_seen_at = ? WHERE instance_id = ?').run(now, id);
  }

  instances(): InstanceRow[] {
    return this.#s('SELECT * FROM vs_instances').all() as unknown as InstanceRow[];
  }

  deleteInstance(id: string): void {
    this.#s('DELETE FROM vs_instances WHERE instance_id = ?').run(id);
  }

  // ---- stores ----------------------------------------------------------------------

  activeStore(kind: string, scope: string): StoreRow | undefined {
    return this.#s(`SELECT * FROM vs_stores WHERE kind = ? AND scope = ? AND state = 'active'
      ORDER BY last_used_at DESC LIMIT 1`).get(kind, scope) as StoreRow | undefined;
  }

  store(storeId: string): StoreRow | undefined {
    return this.#s('SELECT * FROM vs_stores WHERE store_id = ?').get(storeId) as StoreRow | undefined;
  }

  stores(): StoreRow[] {
    return this.#s('SELECT * FROM vs_stores').all() as unknown as StoreRow[];
  }

  insertStore(row: Omit<StoreRow, 'completed' | 'state'>): void {
    this.#s(`INSERT INTO vs_stores (store_id, kind, scope, instance_id, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(row.store_id, row.kind, row.scope, row.instance_id, row.created_at, row.last_used_at);
  }

  touchStore(storeId: string, now: number): void {
    this.#s('UPDATE vs_stores SET last_used_at = MAX(last_used_at, ?) WHERE store_id = ?').run(now, storeId);
  }

  markStoreCompleted(storeId: string, now: number): void {
    this.#s('UPDATE vs_stores SET completed = 1, last_used_at = MAX(last_used_at, ?) WHERE store_id = ?').run(now, storeId);
  }

  markStoreDeleting(storeId: string): void {
    this.#s(`UPDATE vs_stores SET state = 'deleting' WHERE store_id = ?`).run(storeId);
  }

  countActiveStores(): number {
    return (this.#s(`SELECT COUNT(*) AS n FROM vs_stores WHERE state = 'active'`).get() as { n: number }).n;
  }

  /**
   * Forgets a store and what it held. Returns the file keys that no store references
   * any more, after deleting their vs_files rows, so the caller can owe their deletes.
   */
  forgetStore(storeId: string): Array<{ sha256: string; rel_path: string; file_id: string }> {
    const held = this.#s('SELECT sha256, rel_path FROM vs_store_files WHERE store_id = ?').all(storeId) as unknown as Array<{ sha256: string; rel_path: string }>;
    this.#s('DELETE FROM vs_store_files WHERE store_id = ?').run(storeId);
    this.#s('DELETE FROM vs_stores WHERE store_id = ?').run(storeId);
    this.#s(`DELETE FROM vs_pending_deletes WHERE kind = 'store_file' AND store_id = ?`).run(storeId);
    const freed: Array<{ sha256: string; rel_path: string; file_id: string }> = [];
    for (const k of held) {
      const f = this.takeIfUnreferenced(k.sha256, k.rel_path);
      if (f) freed.push(f);
    }
    return freed;
  }

  // ---- leases ----------------------------------------------------------------------

  /** Takes `key` for `owner` when it is free, lapsed, already ours, or held by one of `goneOwners`. */
  tryLease(key: string, owner: string, now: number, ttlMs: number, goneOwners?: ReadonlySet<string>): boolean {
    const row = this.#s('SELECT owner, expires_at FROM vs_leases WHERE lease_key = ?').get(key) as { owner: string; expires_at: number } | undefined;
    if (row && row.owner !== owner && row.expires_at > now && !goneOwners?.has(row.owner)) return false;
    this.#s(`INSERT INTO vs_leases (lease_key, owner, expires_at) VALUES (?, ?, ?)
      ON CONFLICT(lease_key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`).run(key, owner, now + ttlMs);
    return true;
  }

  releaseLease(key: string, owner: string): void {
    this.#s('DELETE FROM vs_leases WHERE lease_key = ? AND owner = ?').run(key, owner);
  }

  /** Drops lapsed leases and those of the given dead owners. */
  dropLeases(now: number, deadOwners: string[]): number {
    let n = Number(this.#s('DELETE FROM vs_leases WHERE expires_at <= ?').run(now).changes);
    for (const o of deadOwners) n += Number(this.#s('DELETE FROM vs_leases WHERE owner = ?').run(o).changes);
    return n;
  }

  // ---- files -----------------------------------------------------------------------

  file(sha256: string, relPath: string): FileRow | undefined {
    return this.#s('SELECT * FROM vs_files WHERE sha256 = ? AND rel_path = ?').get(sha256, relPath) as FileRow | undefined;
  }

  /** Inserts or takes over an upload claim. */
  claimFile(sha256: string, relPath: string, owner: string, bytes: number, now: number, ttlMs: number): void {
    this.#s(`INSERT INTO vs_files (sha256, rel_path, file_id, state, lease_owner, lease_expires_at, bytes, created_at)
      VALUES (?, ?, NULL, 'uploading', ?, ?, ?, ?)
      ON CONFLICT(sha256, rel_path) DO UPDATE SET file_id = NULL, state = 'uploading', lease_owner = excluded.lease_owner,
        lease_expires_at = excluded.lease_expires_at, bytes = excluded.bytes`)
      .run(sha256, relPath, owner, now + ttlMs, bytes, now);
  }

  renewClaim(sha256: string, relPath: string, owner: string, expiresAt: number): void {
    this.#s(`UPDATE vs_files SET lease_expires_at = ? WHERE sha256 = ? AND rel_path = ? AND lease_owner = ? AND state = 'uploading'`)
      .run(expiresAt, sha256, relPath, owner);
  }

  /** Records a finished upload; false when the claim was lost meanwhile (then the caller owes a delete). */
  markFileReady(sha256: string, relPath: string, owner: string, fileId: string): boolean {
    const r = this.#s(`UPDATE vs_files SET state = 'ready', file_id = ?, lease_owner = NULL, lease_expires_at = NULL
      WHERE sha256 = ? AND rel_path = ? AND state = 'uploading' AND lease_owner = ?`).run(fileId, sha256, relPath, owner);
    return Number(r.changes) === 1;
  }

  releaseClaim(sha256: string, relPath: string, owner: string): void {
    this.#s(`DELETE FROM vs_files WHERE sha256 = ? AND rel_path = ? AND state = 'uploading' AND lease_owner = ?`).run(sha256, relPath, owner);
  }

  /** Claims whose lease lapsed, or whose owner is dead. */
  dropStaleClaims(now: number, deadOwners: string[]): number {
    let n = Number(this.#s(`DELETE FROM vs_files WHERE state = 'uploading' AND lease_expires_at <= ?`).run(now).changes);
    for (const o of deadOwners) n += Number(this.#s(`DELETE FROM vs_files WHERE state = 'uploading' AND lease_owner = ?`).run(o).changes);
    return n;
  }

  countReadyFiles(): number {
    return (this.#s(`SELECT COUNT(*) AS n FROM vs_files WHERE state = 'ready'`).get() as { n: number }).n;
  }

  isReferenced(sha256: string, relPath: string): boolean {
    return this.#s('SELECT 1 FROM vs_store_files WHERE sha256 = ? AND rel_path = ? LIMIT 1').get(sha256, relPath) !== undefined;
  }

  /**
   * When no store references (sha256, relPath), removes its ready row and returns it so
   * the caller owes the provider delete. Done in one transaction with the reference
   * check, so a concurrent reuse either sees the row (and references it first) or
   * uploads afresh.
   */
  takeIfUnreferenced(sha256: string, relPath: string): { sha256: string; rel_path: string; file_id: string } | undefined {
    if (this.isReferenced(sha256, relPath)) return undefined;
    const f = this.file(sha256, relPath);
    if (!f || f.state !== 'ready' || !f.file_id) return undefined;
    this.#s('DELETE FROM vs_files WHERE sha256 = ? AND rel_path = ?').run(sha256, relPath);
    // A bundle's members go with its last file row: nothing can reuse the bundle now, and
    // without this the table grew by one row per bundled file for good.
    this.#s('DELETE FROM vs_bundle_members WHERE bundle_sha = ? AND NOT EXISTS (SELECT 1 FROM vs_files WHERE sha256 = ?)').run(sha256, sha256);
    return { sha256, rel_path: relPath, file_id: f.file_id };
  }

  unreferencedReadyFiles(limit: number): Array<{ sha256: string; rel_path: string }> {
    return this.#s(`SELECT f.sha256, f.rel_path FROM vs_files f WHERE f.state = 'ready'
      AND NOT EXISTS (SELECT 1 FROM vs_store_files s WHERE s.sha256 = f.sha256 AND s.rel_path = f.rel_path) LIMIT ?`)
      .all(limit) as unknown as Array<{ sha256: string; rel_path: string }>;
  }

  knownFileIds(): Set<string> {
    const rows = this.#s('SELECT file_id FROM vs_files WHERE file_id IS NOT NULL').all() as unknown as Array<{ file_id: string }>;
    return new Set(rows.map((r) => r.file_id));
  }

  // ---- store files -----------------------------------------------------------------

  // ---- bundle members ----------------------------------------------------------------

  putBundleMembers(bundleSha: string, members: ReadonlyArray<{ relPath: string; sha256: string; absPath: string }>): void {
    const st = this.#s('INSERT OR IGNORE INTO vs_bundle_members (bundle_sha, member_path, member_sha, abs_path) VALUES (?, ?, ?, ?)');
    for (const m of members) st.run(bundleSha, m.relPath, m.sha256, m.absPath);
  }

  countBundleMembers(): number {
    return Number((this.#s('SELECT COUNT(*) AS n FROM vs_bundle_members').get() as { n: number }).n);
  }

  hasBundleMembers(bundleSha: string): boolean {
    return this.#s('SELECT 1 FROM vs_bundle_members WHERE bundle_sha = ? LIMIT 1').get(bundleSha) !== undefined;
  }

  bundleMembers(bundleSha: string): Array<{ member_path: string; member_sha: string; abs_path: string }> {
    return this.#s('SELECT member_path, member_sha, abs_path FROM vs_bundle_members WHERE bundle_sha = ?').all(bundleSha) as unknown as Array<{ member_path: string; member_sha: string; abs_path: string }>;
  }

  sessionStoreId(sessionId: string): string | undefined {
    return this.activeStore('session', sessionId)?.store_id;
  }

  storeFile(storeId: string, relPath: string): StoreFileRow | undefined {
    return this.#s('SELECT * FROM vs_store_files WHERE store_id = ? AND rel_path = ?').get(storeId, relPath) as StoreFileRow | undefined;
  }

  storeFiles(storeId: string): StoreFileRow[] {
    return this.#s('SELECT * FROM vs_store_files WHERE store_id = ?').all(storeId) as unknown as StoreFileRow[];
  }

  putStoreFile(storeId: string, relPath: string, sha256: string, fileId: string | null, absPath: string | null, state: 'pending' | 'attached', now: number): void {
    this.#s(`INSERT INTO vs_store_files (store_id, rel_path, sha256, file_id, abs_path, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(store_id, rel_path) DO UPDATE SET sha256 = excluded.sha256, file_id = excluded.file_id,
        abs_path = excluded.abs_path, state = excluded.state, updated_at = excluded.updated_at`)
      .run(storeId, relPath, sha256, fileId, absPath, state, now);
  }

  setStoreFileId(storeId: string, relPath: string, sha256: string, fileId: string, now: number): void {
    this.#s(`UPDATE vs_store_files SET file_id = ?, updated_at = ? WHERE store_id = ? AND rel_path = ? AND sha256 = ?`)
      .run(fileId, now, storeId, relPath, sha256);
  }

  setStoreFileAttached(storeId: string, relPath: string, fileId: string, now: number): void {
    this.#s(`UPDATE vs_store_files SET state = 'attached', updated_at = ? WHERE store_id = ? AND rel_path = ? AND file_id = ?`)
      .run(now, storeId, relPath, fileId);
  }

  /** Drops a store row that never got attached; returns the file key if it became unreferenced. */
  dropPendingStoreFile(storeId: string, relPath: string, sha256: string): { sha256: string; rel_path: string; file_id: string } | undefined {
    this.#s(`DELETE FROM vs_store_files WHERE store_id = ? AND rel_path = ? AND sha256 = ? AND state = 'pending'`).run(storeId, relPath, sha256);
    return this.takeIfUnreferenced(sha256, relPath);
  }

  removeStoreFile(storeId: string, relPath: string): void {
    this.#s('DELETE FROM vs_store_files WHERE store_id = ? AND rel_path = ?').run(storeId, relPath);
  }

  // ---- upload journal --------------------------------------------------------------

  journalStart(owner: string, sha256: string, relPath: string, filename: string, bytes: number, now: number): number {
    const r = this.#s(`INSERT INTO vs_upload_journal (owner, sha256, rel_path, filename, bytes, started_at, state)
      VALUES (?, ?, ?, ?, ?, ?, 'started')`).run(owner, sha256, relPath, filename, bytes, now);
    return Number(r.lastInsertRowid);
  }

  journalDone(id: number): void {
    this.#s('DELETE FROM vs_upload_journal WHERE id = ?').run(id);
  }

  journalAbandon(id: number): void {
    this.#s(`UPDATE vs_upload_journal SET state = 'abandoned' WHERE id = ?`).run(id);
  }

  journal(): JournalRow[] {
    return this.#s('SELECT * FROM vs_upload_journal ORDER BY id').all() as unknown as JournalRow[];
  }

  // ---- pending deletes -------------------------------------------------------------

  owe(kind: PendingDeleteKind, targetId: string, storeId: string, nextAttemptAt: number, now: number): void {
    this.#s(`INSERT INTO vs_pending_deletes (kind, target_id, store_id, attempts, next_attempt_at, created_at)
      VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT(kind, target_id, store_id) DO NOTHING`).run(kind, targetId, storeId, nextAttemptAt, now);
  }

  duePendingDeletes(now: number, limit: number): PendingDeleteRow[] {
    // Detaches first, then stores, then file objects: a file is deleted after it left its stores.
    return this.#s(`SELECT * FROM vs_pending_deletes WHERE next_attempt_at <= ?
      ORDER BY CASE kind WHEN 'store_file' THEN 0 WHEN 'store' THEN 1 ELSE 2 END, next_attempt_at LIMIT ?`)
      .all(now, limit) as unknown as PendingDeleteRow[];
  }

  pendingDelete(kind: PendingDeleteKind, targetId: string, storeId: string): PendingDeleteRow | undefined {
    return this.#s('SELECT * FROM vs_pending_deletes WHERE kind = ? AND target_id = ? AND store_id = ?').get(kind, targetId, storeId) as PendingDeleteRow | undefined;
  }

  settleDelete(kind: PendingDeleteKind, targetId: string, storeId: string): void {
    this.#s('DELETE FROM vs_pending_deletes WHERE kind = ? AND target_id = ? AND store_id = ?').run(kind, targetId, storeId);
  }

  deferDelete(kind: PendingDeleteKind, targetId: string, storeId: string, error: string, nextAttemptAt: number): void {
    this.#s(`UPDATE vs_pending_deletes SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
      WHERE kind = ? AND target_id = ? AND store_id = ?`).run(error.slice(0, 300), nextAttemptAt, kind, targetId, storeId);
  }

  countPendingDeletes(): number {
    return (this.#s('SELECT COUNT(*) AS n FROM vs_pending_deletes').get() as { n: number }).n;
  }

  hasPendingStoreDelete(storeId: string): boolean {
    return this.#s(`SELECT 1 FROM vs_pending_deletes WHERE kind = 'store' AND target_id = ?`).get(storeId) !== undefined;
  }

  // ---- hash cache ------------------------------------------------------------------

  cachedHash(absPath: string, size: number, mtimeMs: number): string | undefined {
    const r = this.#s('SELECT sha256 FROM vs_hash_cache WHERE abs_path = ? AND size = ? AND mtime_ms = ?').get(absPath, size, mtimeMs) as { sha256: string } | undefined;
    return r?.sha256;
  }

  putHash(absPath: string, size: number, mtimeMs: number, sha256: string): void {
    this.#s(`INSERT INTO vs_hash_cache (abs_path, size, mtime_ms, sha256) VALUES (?, ?, ?, ?)
      ON CONFLICT(abs_path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256`)
      .run(absPath, size, mtimeMs, sha256);
  }
}
