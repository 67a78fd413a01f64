/**
 * The per-project memory vector store: created once (under a lease, so two processes on
 * one state dir make one store), written one entry at a time, searched on demand. The
 * store carries `owner: second-brain, kind: memory` so the janitor never deletes it.
 */
import type OpenAI from 'openai';
import { toFile } from 'openai';
import { createHash } from 'node:crypto';
import { APIError } from 'openai';
import { registerSchema, withTransaction, type Db } from '../state/db.ts';
import { abortReasonToError } from '../errors.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { DEFAULTS } from '../config/defaults.ts';

registerSchema('memory', `
CREATE TABLE IF NOT EXISTS mem_stores (
  project_key      TEXT PRIMARY KEY,
  store_id         TEXT,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  created_at       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mem_digests (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  project_key TEXT NOT NULL,
  store_id    TEXT NOT NULL,
  file_id     TEXT,
  version     INTEGER NOT NULL DEFAULT 0,
  entries     INTEGER NOT NULL DEFAULT 0,
  bytes       INTEGER NOT NULL DEFAULT 0,
  sealed      INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mem_digests_store ON mem_digests (project_key, store_id, sealed);
CREATE TABLE IF NOT EXISTS mem_digest_entries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  digest_id   INTEGER NOT NULL,
  text        TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mem_digest_entries_digest ON mem_digest_entries (digest_id);
CREATE TABLE IF NOT EXISTS mem_stale_files (
  file_id     TEXT PRIMARY KEY,
  store_id    TEXT NOT NULL,
  project_key TEXT NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0
);
`);

/** Stable key of a project root: a hash, so paths do not leak into provider metadata. */
export function projectKeyOf(root: string): string {
  return createHash('sha256').update(root).digest('hex').slice(0, 16);
}

const CLEANUP_TIMEOUT_MS = DEFAULTS.MEMORY_CLEANUP_TIMEOUT_MS;

export interface MemoryStoreOptions {
  client: OpenAI;
  db: Db;
  instanceId: string;
  projectRoot: string;
  expiresAfterDays: number;
  pollIntervalMs: number;
  /** How long store creation may be held by another process before we take it over. */
  leaseMs: number;
  /** Aborted at shutdown: cleanup stops too, so close() keeps its deadline. */
  lifetime: AbortSignal;
  /** Entries per digest document. Default DEFAULTS.MEMORY_DIGEST_MAX_ENTRIES (50). */
  digestMaxEntries?: number;
  /** Bytes of entry text per digest document. Default DEFAULTS.MEMORY_DIGEST_MAX_BYTES (64 KiB). */
  digestMaxBytes?: number;
  /** Digest documents kept per store; the oldest beyond it is deleted. Default DEFAULTS.MEMORY_STORE_MAX_DOCUMENTS (20). */
  maxDocuments?: number;
}

export interface StoredEntry { storeId: string; fileId: string; digestId: number }

/** Attempts at deleting a replaced file before it is given up on (and counted). */
const STALE_MAX_ATTEMPTS = 5;
/** Rebuilds of a digest when another process replaced it while this one uploaded. */
const DIGEST_MAX_REBUILDS = 3;

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw abortReasonToError(signal.reason);
  }
}

/**
 * Entries are compacted into a bounded number of documents, because every chat call
 * searches the store: one file per answered call would grow the store (and what each
 * call searches, and what the provider stores and charges for) with history. Each entry
 * is appended to the open digest, whose new version replaces the previous file; a full
 * digest (entries or bytes) is sealed and a new one opened; past `maxDocuments` the
 * oldest digest is deleted. Replaced files are deleted off the call path, retried on
 * later writes, and counted when given up on.
 */
export class MemoryStore {
  readonly #o: MemoryStoreOptions;
  readonly projectKey: string;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #maxDocuments: number;
  /** Replaced or evicted files whose delete was given up on. */
  staleAbandoned = 0;

  constructor(options: MemoryStoreOptions) {
    this.#o = options;
    this.projectKey = projectKeyOf(options.projectRoot);
    this.#maxEntries = options.digestMaxEntries ?? DEFAULTS.MEMORY_DIGEST_MAX_ENTRIES;
    this.#maxBytes = options.digestMaxBytes ?? DEFAULTS.MEMORY_DIGEST_MAX_BYTES;
    this.#maxDocuments = options.maxDocuments ?? DEFAULTS.MEMORY_STORE_MAX_DOCUMENTS;
  }

  /** Digest documents of the current store, as recorded locally (a cheap read). */
  documentCount(): number {
    const row = this.#o.db.prepare(`SELECT COUNT(*) AS n FROM mem_digests d JOIN mem_stores s ON s.project_key = d.project_key AND s.store_id = d.store_id
      WHERE d.project_key = ?`).get(this.projectKey) as { n: number };
    return row.n;
  }

  /** The memory store id, if one exists (a cheap local read). */
  storeId(): string | undefined {
    const row = this.#o.db.prepare('SELECT store_id FROM mem_stores WHERE project_key = ?').get(this.projectKey) as { store_id: string | null } | undefined;
    return row?.store_id ?? undefined;
  }

  async #ensureStore(signal: AbortSignal): Promise<string> {
    const { db, client, instanceId } = this.#o;
    for (;;) {
      const now = Date.now();
      const got = await withTransaction(db, () => {
        const row = db.prepare('SELECT * FROM mem_stores WHERE project_key = ?').get(this.projectKey) as
          { store_id: string | null; lease_owner: string | null; lease_expires_at: number | null } | undefined;
        if (row?.store_id) return { id: row.store_id };
        if (row && row.lease_owner !== instanceId && (row.lease_expires_at ?? 0) > now) return { wait: true };
        db.prepare(`INSERT INTO mem_stores (project_key, store_id, lease_owner, lease_expires_at, created_at) VALUES (?, NULL, ?, ?, ?)
          ON CONFLICT(project_key) DO UPDATE SET lease_owner = excluded.lease_owner, lease_expires_at = excluded.lease_expires_at`)
          .run(this.projectKey, instanceId, now + this.#o.leaseMs, now);
        return { lease: true };
      }, signal);
      if ('id' in got && got.id) return got.id;
      if ('wait' in got) { await pause(this.#o.pollIntervalMs, signal); continue; }
      const store = await client.vectorStores.create({
        name: `second-brain memory ${this.projectKey}`,
        metadata: { owner: 'second-brain', kind: 'memory', instance: instanceId, project: this.projectKey },
        expires_after: { anchor: 'last_active_at', days: this.#o.expiresAfterDays },
      }, { signal, maxRetries: 0 });
      await withTransaction(db, () => {
        db.prepare('UPDATE mem_stores SET store_id = ?, lease_owner = NULL, lease_expires_at = NULL WHERE project_key = ?').run(store.id, this.projectKey);
      });
      return store.id;
    }
  }

  #forget(storeId: string): Promise<void> {
    const { db } = this.#o;
    return withTransaction(db, () => {
      db.prepare('DELETE FROM mem_stores WHERE project_key = ? AND store_id = ?').run(this.projectKey, storeId);
      db.prepare('DELETE FROM mem_digest_entries WHERE digest_id IN (SELECT id FROM mem_digests WHERE project_key = ? AND store_id = ?)').run(this.projectKey, storeId);
      db.prepare('DELETE FROM mem_digests WHERE project_key = ? AND store_id = ?').run(this.projectKey, storeId);
      db.prepare('DELETE FROM mem_stale_files WHERE project_key = ? AND store_id = ?').run(this.projectKey, storeId);
    });
  }

  /** Uploads `text` as a file, attaches it with `attributes`, and polls until indexed. */
  async #upload(storeId: string, name: string, text: string, attributes: Record<string, string>, signal: AbortSignal): Promise<string> {
    const { client } = this.#o;
    const file = await client.files.create({ file: await toFile(Buffer.from(text, 'utf8'), name, { type: 'text/markdown' }), purpose: 'assistants' }, { signal, maxRetries: 0 });
    try {
      let vsFile = await client.vectorStores.files.create(storeId, { file_id: file.id, attributes }, { signal, maxRetries: 0 });
      while (vsFile.status === 'in_progress') {
        await pause(this.#o.pollIntervalMs, signal);
        vsFile = await client.vectorStores.files.retrieve(file.id, { vector_store_id: storeId }, { signal, maxRetries: 0 });
      }
      if (vsFile.status !== 'completed') {
        throw new Error(`the memory entry ended ${vsFile.status}${vsFile.last_error ? ` (${vsFile.last_error.code}: ${vsFile.last_error.message})` : ''}`);
      }
      return file.id;
    } catch (err) {
      // The entry is not searchable: do not leave its file object behind. Awaited, with its
      // own short deadline (the task's may be spent), so no work outlives the task.
      await client.files.delete(file.id, { signal: this.#cleanupSignal(), maxRetries: 0 }).catch(() => undefined);
      throw err;
    }
  }

  #cleanupSignal(): AbortSignal {
    return AbortSignal.any([AbortSignal.timeout(CLEANUP_TIMEOUT_MS), this.#o.lifetime]);
  }

  /** Adds the entry to the open digest (opening a new one when it is full); returns the digest id. */
  #appendEntry(storeId: string, text: string): Promise<number> {
    const { db } = this.#o;
    const bytes = Buffer.byteLength(text, 'utf8');
    return withTransaction(db, () => {
      const open = db.prepare('SELECT id, entries, bytes FROM mem_digests WHERE project_key = ? AND store_id = ? AND sealed = 0 ORDER BY id DESC LIMIT 1')
        .get(this.projectKey, storeId) as { id: number; entries: number; bytes: number } | undefined;
      let digestId: number;
      if (open && open.entries < this.#maxEntries && (open.entries === 0 || open.bytes + bytes <= this.#maxBytes)) {
        digestId = open.id;
      } else {
        if (open) db.prepare('UPDATE mem_digests SET sealed = 1 WHERE id = ?').run(open.id);
        digestId = Number(db.prepare('INSERT INTO mem_digests (project_key, store_id, created_at) VALUES (?, ?, ?)').run(this.projectKey, storeId, Date.now()).lastInsertRowid);
      }
      db.prepare('INSERT INTO mem_digest_entries (digest_id, text, recorded_at) VALUES (?, ?, ?)').run(digestId, text, Date.now());
      db.prepare('UPDATE mem_digests SET entries = entries + 1, bytes = bytes + ? WHERE id = ?').run(bytes, digestId);
      // Beyond the cap, the oldest digests go: their files are deleted after this commit.
      const extra = db.prepare('SELECT id, file_id FROM mem_digests WHERE project_key = ? AND store_id = ? ORDER BY id DESC LIMIT -1 OFFSET ?')
        .all(this.projectKey, storeId, this.#maxDocuments) as Array<{ id: number; file_id: string | null }>;
      for (const d of extra) {
        if (d.file_id) this.#markStale(d.file_id, storeId);
        db.prepare('DELETE FROM mem_digest_entries WHERE digest_id = ?').run(d.id);
        db.prepare('DELETE FROM mem_digests WHERE id = ?').run(d.id);
      }
      return digestId;
    }, undefined);
  }

  #markStale(fileId: string, storeId: string): void {
    this.#o.db.prepare('INSERT OR IGNORE INTO mem_stale_files (file_id, store_id, project_key) VALUES (?, ?, ?)').run(fileId, storeId, this.projectKey);
  }

  /** The digest's text as of now, with the version it was read at. */
  #readDigest(digestId: number): { version: number; fileId: string | null; text: string; entries: number } | undefined {
    const { db } = this.#o;
    const d = db.prepare('SELECT version, file_id, entries FROM mem_digests WHERE id = ?').get(digestId) as { version: number; file_id: string | null; entries: number } | undefined;
    if (!d) return undefined;
    const rows = db.prepare('SELECT text FROM mem_digest_entries WHERE digest_id = ? ORDER BY id').all(digestId) as Array<{ text: string }>;
    const header = `<!-- second-brain memory digest ${digestId}: ${rows.length} earlier conversation(s), oldest first -->\n\n`;
    return { version: d.version, fileId: d.file_id, entries: rows.length, text: header + rows.map((r) => r.text).join('\n---\n\n') };
  }

  /** Deletes up to `max` replaced files (detached from the store first); failures are retried later. */
  async #deleteStale(max: number): Promise<void> {
    const { db, client } = this.#o;
    const rows = db.prepare('SELECT file_id, store_id, attempts FROM mem_stale_files WHERE project_key = ? ORDER BY rowid LIMIT ?')
      .all(this.projectKey, max) as Array<{ file_id: string; store_id: string; attempts: number }>;
    for (const r of rows) {
      if (this.#o.lifetime.aborted) return;
      const gone = (err: unknown) => { if (err instanceof APIError && err.status === 404) return; throw err; };
      try {
        await client.vectorStores.files.delete(r.file_id, { vector_store_id: r.store_id }, { signal: this.#cleanupSignal(), maxRetries: 0 }).catch(gone);
        await client.files.delete(r.file_id, { signal: this.#cleanupSignal(), maxRetries: 0 }).catch(gone);
        await withTransaction(db, () => { db.prepare('DELETE FROM mem_stale_files WHERE file_id = ?').run(r.file_id); });
      } catch {
        await withTransaction(db, () => {
          if (r.attempts + 1 >= STALE_MAX_ATTEMPTS) {
            db.prepare('DELETE FROM mem_stale_files WHERE file_id = ?').run(r.file_id);
            this.staleAbandoned++;
          } else {
            db.prepare('UPDATE mem_stale_files SET attempts = attempts + 1 WHERE file_id = ?').run(r.file_id);
          }
        }).catch(() => undefined);
      }
    }
  }

  /**
   * Adds one entry to the open digest document and uploads the digest's new version,
   * which replaces the previous one; polls (bounded by the signal) until the provider has
   * indexed it. Throws on failure; the queue counts it. The entry stays in the digest, so
   * the next write uploads it too.
   */
  async write(text: string, attributes: Record<string, string>, signal: AbortSignal): Promise<StoredEntry> {
    const { db } = this.#o;
    const storeId = await this.#ensureStore(signal);
    const digestId = await this.#appendEntry(storeId, text);
    try {
      for (let attempt = 0; ; attempt++) {
        const digest = this.#readDigest(digestId);
        // Evicted while this write ran (another process wrote many entries): nothing to upload.
        if (!digest) return { storeId, fileId: '', digestId };
        const fileName = `memory-digest-${digestId}-v${digest.version + 1}.md`;
        const fileId = await this.#upload(storeId, fileName, digest.text, { ...attributes, digest: String(digestId), entries: String(digest.entries) }, signal);
        const committed = await withTransaction(db, () => {
          const changed = db.prepare('UPDATE mem_digests SET file_id = ?, version = version + 1 WHERE id = ? AND version = ?').run(fileId, digestId, digest.version).changes;
          if (changed === 0) { this.#markStale(fileId, storeId); return false; }
          if (digest.fileId) this.#markStale(digest.fileId, storeId);
          return true;
        });
        if (committed) return { storeId, fileId, digestId };
        if (attempt + 1 >= DIGEST_MAX_REBUILDS) throw new Error('the memory digest kept changing while it was uploaded');
      }
    } catch (err) {
      // The store was deleted or expired upstream: the next entry creates a new one.
      if (err instanceof APIError && err.status === 404) await this.#forget(storeId).catch(() => undefined);
      throw err;
    } finally {
      await this.#deleteStale(DEFAULTS.MEMORY_STALE_DELETES_PER_WRITE).catch(() => undefined);
    }
  }

  /** Searches the memory store; [] when there is none yet. */
  async search(query: string, maxResults: number, signal: AbortSignal) {
    const storeId = this.storeId();
    if (!storeId) return [];
    try {
      const page = await this.#o.client.vectorStores.search(storeId, { query, max_num_results: maxResults }, { signal, maxRetries: 0 });
      return page.data;
    } catch (err) {
      if (err instanceof APIError && err.status === 404) {
        await this.#forget(storeId).catch(() => undefined);
        return [];
      }
      throw err;
    }
  }
}
