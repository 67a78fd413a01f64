/**
 * One store per session: found in SQLite, or created once under a lease so two calls
 * (or two processes) of the same session do not create two. Near the project's store
 * limit (KI-13) this server's own least-recently-used stores are evicted; when none
 * can go, the call fails fast with SB_ERR_STORE_LIMIT instead of piling up stores.
 */
import type OpenAI from 'openai';
import type { VectorStore } from 'openai/resources/vector-stores/vector-stores';
import { ErrorCode, SbError, abortReasonToError } from '../errors.ts';
import { withTransaction, type Db } from '../state/db.ts';
import type { Logger } from '../logging/logger.ts';
import { deleteStoreNow, oweFileDeletes, type CleanupDeps } from './cleanup.ts';
import { goneInstances, instanceGone, KIND_MEMORY, KIND_SESSION, ownershipOf, sessionStoreMetadata } from './ownership.ts';
import type { VectorState } from './state.ts';
import type { VectorEvent, VectorLimits } from './types.ts';
import { isNotFound, isStoreLimitError, sleep, withRetry } from './upstream.ts';
import type { ThrottleGate } from '../resilience/throttle-gate.ts';
import { vectorGates } from './gates.ts';
import { DEFAULTS } from '../config/defaults.ts';

const VERIFY_AFTER_IDLE_MS = DEFAULTS.STORE_VERIFY_AFTER_IDLE_MS;
export const MAX_LIST_PAGES = DEFAULTS.STORE_MAX_LIST_PAGES;
const ORPHAN_GRACE_MS = DEFAULTS.STORE_ORPHAN_GRACE_MS;

export interface StoreDeps {
  client: OpenAI;
  db: Db;
  state: VectorState;
  instanceId: string;
  gate: ThrottleGate;
  limits: VectorLimits;
  log: Logger;
  emit: (e: VectorEvent) => void;
  report: (message: string) => void;
}

/** Lists every store of the project (bounded pages). */
export async function listProviderStores(
  client: OpenAI, gate: ThrottleGate, signal: AbortSignal, attempts: number, report?: (m: string) => void, rateLimitRetries?: number,
): Promise<VectorStore[]> {
  const out: VectorStore[] = [];
  let page = await withRetry((s) => client.vectorStores.list({ limit: 100 }, { signal: s, maxRetries: 0 }), { signal, gate, attempts, report, rateLimitRetries });
  for (let n = 1; ; n++) {
    out.push(...page.data);
    if (!page.hasNextPage() || n >= MAX_LIST_PAGES) break;
    const current = page;
    page = await withRetry(() => current.getNextPage(), { signal, gate, attempts, report, rateLimitRetries });
  }
  return out;
}

interface Candidate { id: string; reason: 'orphan' | 'expired' | 'lru'; lastUsed: number }

export class StoreAllocator {
  readonly #d: StoreDeps;
  readonly #cleanup: CleanupDeps;

  constructor(deps: StoreDeps) {
    this.#d = deps;
    this.#cleanup = { client: deps.client, db: deps.db, state: deps.state, timeoutMs: deps.limits.cleanupRequestTimeoutMs };
  }

  /** The session's store id, creating the store when the session has none. */
  async ensureSessionStore(sessionId: string, signal: AbortSignal): Promise<{ storeId: string; created: boolean }> {
    const d = this.#d;
    const leaseKey = `store:${KIND_SESSION}:${sessionId}`;
    for (;;) {
      const now = Date.now();
      type Found = { kind: 'found'; storeId: string; idleMs: number } | { kind: 'lease' } | { kind: 'wait' };
      const got = await withTransaction(d.db, (): Found => {
        const row = d.state.activeStore(KIND_SESSION, sessionId);
        if (row) {
          d.state.touchStore(row.store_id, now);
          return { kind: 'found', storeId: row.store_id, idleMs: now - row.last_used_at };
        }
        // A lease of a process that died while creating this store is taken over at once (KI-13).
        const gone = goneInstances(d.state.instances(), now, d.instanceId);
        return d.state.tryLease(leaseKey, d.instanceId, now, d.limits.uploadLeaseMs, gone) ? { kind: 'lease' } : { kind: 'wait' };
      }, signal);
      if (got.kind === 'found') {
        if (got.idleMs < VERIFY_AFTER_IDLE_MS || (await this.#stillUsable(got.storeId, signal))) return { storeId: got.storeId, created: false };
        continue;
      }
      if (got.kind === 'wait') {
        // Another call or process is creating this session's store; it will appear shortly.
        await sleep(d.limits.claimPollIntervalMs, signal);
        continue;
      }
      try {
        const store = await this.#create(sessionId, signal);
        await withTransaction(d.db, () => {
          const t = Date.now();
          d.state.insertStore({ store_id: store.id, kind: KIND_SESSION, scope: sessionId, instance_id: d.instanceId, created_at: t, last_used_at: t });
          d.state.releaseLease(leaseKey, d.instanceId);
        });
        d.emit({ type: 'store_created', storeId: store.id, sessionId });
        return { storeId: store.id, created: true };
      } catch (err) {
        try { await withTransaction(d.db, () => d.state.releaseLease(leaseKey, d.instanceId)); } catch { /* lapses by itself */ }
        throw err;
      }
    }
  }

  /** False (and the rows forgotten) when the store was deleted or expired upstream. */
  async #stillUsable(storeId: string, signal: AbortSignal): Promise<boolean> {
    const d = this.#d;
    let gone = false;
    let expired = false;
    try {
      const s = await withRetry((sig) => d.client.vectorStores.retrieve(storeId, { signal: sig, maxRetries: 0 }),
        { signal, gate: d.gate, attempts: d.limits.uploadMaxAttempts, report: d.report });
      expired = s.status === 'expired';
    } catch (err) {
      if (signal.aborted) throw abortReasonToError(signal.reason);
      if (!isNotFound(err)) throw err;
      gone = true;
    }
    if (!gone && !expired) return true;
    d.log.info({ storeId, gone, expired }, 'session store no longer usable upstream; creating a new one');
    await withTransaction(d.db, () => {
      const now = Date.now();
      const freed = d.state.forgetStore(storeId);
      oweFileDeletes(d.state, freed.map((f) => f.file_id), now);
      // An expired store still counts against the limit until it is deleted.
      if (expired) d.state.owe('store', storeId, '', now, now);
    });
    return false;
  }

  async #create(sessionId: string, signal: AbortSignal): Promise<VectorStore> {
    const d = this.#d;
    // A gate installed by the wiring (none in production; a creation lock never given back under a test defect, KI-01).
    const beforeCreate = vectorGates().storeCreate;
    if (beforeCreate) await beforeCreate(signal);
    // A creation path installed by the wiring (none in production; under a test defect, KI-13: no count first, the limit error retried).
    const createStore = vectorGates().createStore;
    if (createStore) return createStore((s) => d.client.vectorStores.create({ name: `second-brain ${sessionId.slice(0, 40)}`, metadata: sessionStoreMetadata(d.instanceId, sessionId) }, { signal: s, maxRetries: 0 }), signal);
    const first = await this.#makeRoom(sessionId, signal, 0);
    const body = {
      name: `second-brain ${sessionId.slice(0, 40)}`,
      metadata: sessionStoreMetadata(d.instanceId, sessionId),
      // Provider-side backstop: even if every cleanup here fails, the store expires.
      expires_after: { anchor: 'last_active_at' as const, days: d.limits.storeExpiresAfterDays },
    };
    const create = () => withRetry((s) => d.client.vectorStores.create(body, { signal: s, maxRetries: 0 }),
      { signal, gate: d.gate, attempts: d.limits.uploadMaxAttempts, report: d.report });
    try {
      return await create();
    } catch (err) {
      if (!isStoreLimitError(err)) throw err;
      // Our count was stale or the limit is lower than configured: free at least one of our
      // own stores and retry once. When the provider now holds fewer stores than when this
      // create was sent (another call or the janitor deleted some meanwhile), the retry
      // needs no eviction of its own. Neither: fail fast, never a loop.
      const again = await this.#makeRoom(sessionId, signal, 1, err);
      const othersFreed = again.listed < first.listed - first.freed;
      if (again.freed === 0 && !othersFreed) throw this.#limitError(undefined, undefined, err);
      try {
        return await create();
      } catch (err2) {
        if (isStoreLimitError(err2)) throw this.#limitError(undefined, undefined, err2);
        throw err2;
      }
    }
  }

  #limitError(count: number | undefined, foreign: number | undefined, cause?: unknown): SbError {
    const limit = this.#d.limits.storeLimit;
    const held = count === undefined ? `has reached its vector store limit (${limit})` : `holds ${count} of its ${limit} vector stores`;
    const who = foreign === undefined ? '' : ` (${foreign} belong to other owners)`;
    return new SbError(ErrorCode.STORE_LIMIT,
      `Failed to create a vector store for this session: the OpenAI project ${held}${who} and none of this server's stores can be freed right now. ` +
      'Delete unused vector stores in the OpenAI dashboard, or retry once idle stores have been cleaned up.',
      { provider: 'openai', cause, details: { limit, count, foreign } });
  }

  /**
   * Frees slots until one more store fits under `storeLimit - storeReserve`, and at least
   * `minFree` (after the provider's own limit error), evicting this server's stores:
   * debris of dead instances first, then expired ones, then the least recently used.
   * Returns how many stores the provider listed and how many of them were freed; throws
   * SB_ERR_STORE_LIMIT when the new store cannot fit at all.
   */
  async #makeRoom(sessionId: string, signal: AbortSignal, minFree: number, cause?: unknown): Promise<{ listed: number; freed: number }> {
    const d = this.#d;
    const { storeLimit, storeReserve } = d.limits;
    const listed = await listProviderStores(d.client, d.gate, signal, d.limits.uploadMaxAttempts, d.report);
    const count = listed.length;
    const need = Math.max(minFree, count + 1 - (storeLimit - storeReserve));
    if (need <= 0) return { listed: count, freed: 0 };
    const candidates = this.#candidates(listed, sessionId);
    let freed = 0;
    for (const c of candidates) {
      if (freed >= need) break;
      if (signal.aborted) throw abortReasonToError(signal.reason);
      // Eviction makes room for this call, so it runs here; the delete has its own
      // deadline and, if it fails, is owed to the janitor (KI-02).
      const r = await deleteStoreNow(this.#cleanup, c.id, signal);
      if (r.deleted) {
        freed++;
        d.emit({ type: 'store_evicted', storeId: c.id, reason: c.reason });
        d.log.info({ storeId: c.id, reason: c.reason }, 'evicted vector store to stay under the store limit');
        if (r.freedFiles > 0) d.emit({ type: 'cleanup_owed', count: r.freedFiles });
      }
    }
    if (count - freed + 1 > storeLimit) {
      const known = new Set(d.state.stores().map((s) => s.store_id));
      const instances = new Set(d.state.instances().map((i) => i.instance_id));
      const foreign = listed.filter((s) => ownershipOf(s, known, instances) === 'foreign').length;
      throw this.#limitError(count - freed, foreign, cause);
    }
    return { listed: count, freed };
  }

  #candidates(listed: VectorStore[], sessionId: string): Candidate[] {
    const d = this.#d;
    const now = Date.now();
    const rows = new Map(d.state.stores().map((s) => [s.store_id, s]));
    const instances = d.state.instances();
    const known = new Set(instances.map((i) => i.instance_id));
    const dead = new Set(instances.filter((i) => instanceGone(i, now, d.limits.storeEvictMinIdleMs, d.instanceId)).map((i) => i.instance_id));
    const out: Candidate[] = [];
    const recorded = new Set(rows.keys());
    for (const s of listed) {
      const md = s.metadata ?? {};
      if (ownershipOf(s, recorded, known) !== 'ours') continue;
      if (md.kind === KIND_MEMORY) continue;
      const row = rows.get(s.id);
      if (row?.kind === KIND_MEMORY) continue;
      if (row && row.kind === KIND_SESSION && row.scope === sessionId) continue;
      const lastUsed = row?.last_used_at ?? (s.last_active_at ?? s.created_at) * 1000;
      if (!row) {
        // Created upstream but never recorded: its process died between the two steps.
        const inst = md.instance ?? '';
        if (dead.has(inst) || now - s.created_at * 1000 > ORPHAN_GRACE_MS) out.push({ id: s.id, reason: 'orphan', lastUsed });
        continue;
      }
      if (row.state === 'deleting') { out.push({ id: s.id, reason: 'orphan', lastUsed: 0 }); continue; }
      if (s.status === 'expired') { out.push({ id: s.id, reason: 'expired', lastUsed }); continue; }
      if (dead.has(row.instance_id) && row.completed === 0) { out.push({ id: s.id, reason: 'orphan', lastUsed }); continue; }
      if (now - row.last_used_at >= d.limits.storeEvictMinIdleMs) out.push({ id: s.id, reason: 'lru', lastUsed });
    }
    const rank = { orphan: 0, expired: 1, lru: 2 } as const;
    return out.sort((a, b) => rank[a.reason] - rank[b.reason] || a.lastUsed - b.lastUsed);
  }
}
