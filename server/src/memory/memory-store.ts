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

registerSchema('memory', `
CREATE TABLE IF NOT EXISTS mem_stores (
  project_key      TEXT PRIMARY KEY,
  store_id         TEXT,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  created_at       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mem_entries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  project_key TEXT NOT NULL,
  store_id    TEXT NOT NULL,
  file_id     TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  session_id  TEXT,
  model       TEXT,
  branch      TEXT,
  head        TEXT
);
`);

/** Stable key of a project root: a hash, so paths do not leak into provider metadata. */
export function projectKeyOf(root: string): string {
  return createHash('sha256').update(root).digest('hex').slice(0, 16);
}

/** Deadline of the delete that removes a half-written entry. */
const CLEANUP_TIMEOUT_MS = 2_000;

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
}

export interface StoredEntry { storeId: string; fileId: string }

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw abortReasonToError(signal.reason);
  }
}

export class MemoryStore {
  readonly #o: MemoryStoreOptions;
  readonly projectKey: string;

  constructor(options: MemoryStoreOptions) {
    this.#o = options;
    this.projectKey = projectKeyOf(options.projectRoot);
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
    });
  }

  /**
   * Uploads one entry and attaches it with its attributes, then polls (bounded by the
   * signal) until the provider has indexed it. Throws on failure; the queue counts it.
   */
  async write(name: string, text: string, attributes: Record<string, string>, signal: AbortSignal): Promise<StoredEntry> {
    const { client, db } = this.#o;
    const storeId = await this.#ensureStore(signal);
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
    } catch (err) {
      // The entry is not searchable: do not leave its file object behind. Awaited, with its
      // own short deadline (the task's may be spent), so no work outlives the task.
      await client.files.delete(file.id, { signal: AbortSignal.any([AbortSignal.timeout(CLEANUP_TIMEOUT_MS), this.#o.lifetime]), maxRetries: 0 })
        .catch(() => undefined);
      // The store was deleted or expired upstream: the next entry creates a new one.
      if (err instanceof APIError && err.status === 404) await this.#forget(storeId).catch(() => undefined);
      throw err;
    }
    await withTransaction(db, () => {
      db.prepare(`INSERT INTO mem_entries (project_key, store_id, file_id, recorded_at, session_id, model, branch, head) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(this.projectKey, storeId, file.id, Date.now(), attributes.session ?? null, attributes.model ?? null, attributes.branch ?? null, attributes.head ?? null);
    });
    return { storeId, fileId: file.id };
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
