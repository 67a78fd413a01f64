/**
 * Deletes owed upstream: detaching a file from a store, deleting a store, deleting a
 * file object. Each is recorded in vs_pending_deletes before it is tried, so a delete
 * that fails, times out or is interrupted by a crash is retried later by the janitor
 * (KI-02). Every delete has its own short deadline and holds no limiter slot or lock a
 * request could need.
 */
import type OpenAI from 'openai';
import { classifyFailure } from '../resilience/classify.ts';
import { withTransaction, type Db } from '../state/db.ts';
import type { PendingDeleteKind, VectorState } from './state.ts';
import { backoffMs } from '../resilience/retry.ts';
import { cleanupSignal, isNotFound, withRetry } from './upstream.ts';
import { vectorGates } from './gates.ts';
import { DEFAULTS } from '../config/defaults.ts';

export interface CleanupDeps {
  client: OpenAI;
  db: Db;
  state: VectorState;
  timeoutMs: number;
}

export type DeleteOutcome = 'deleted' | 'gone' | 'failed';

/** Records deletes of freed file objects; they run later (janitor), after their detaches. */
export function oweFileDeletes(state: VectorState, fileIds: Iterable<string>, now: number): number {
  let n = 0;
  for (const id of fileIds) { state.owe('file', id, '', now, now); n++; }
  return n;
}

async function sendDelete(deps: CleanupDeps, kind: PendingDeleteKind, targetId: string, storeId: string, parent?: AbortSignal): Promise<void> {
  const signal = cleanupSignal(deps.timeoutMs, parent);
  // A gate installed by the wiring (none in production; a permit a cut-off delete keeps under a test defect, KI-02).
  const gate = vectorGates().delete;
  if (gate) return gate(signal, () => requestDelete(deps, kind, targetId, storeId, signal));
  // One try through the engine: a failed delete is retried by the janitor, with the backoff
  // below. The engine watches the caller's signal; the request has its own deadline too,
  // and a request that ran out of it is a failure to defer ("the request timed out").
  await withRetry(() => requestDelete(deps, kind, targetId, storeId, signal), { signal: parent ?? new AbortController().signal, attempts: 1, rateLimitRetries: 0 });
}

async function requestDelete(deps: CleanupDeps, kind: PendingDeleteKind, targetId: string, storeId: string, signal: AbortSignal): Promise<void> {
  const opts = { signal, maxRetries: 0 };
  switch (kind) {
    case 'store_file':
      await deps.client.vectorStores.files.delete(targetId, { vector_store_id: storeId }, opts);
      return;
    case 'store':
      await deps.client.vectorStores.delete(targetId, opts);
      return;
    case 'file':
      await deps.client.files.delete(targetId, opts);
      return;
  }
}

/**
 * Tries one owed delete now and settles its row. A 404 counts as done. Never throws for
 * upstream failures: the row stays, with backoff, for the next janitor run.
 */
export async function runOwedDelete(
  deps: CleanupDeps,
  kind: PendingDeleteKind,
  targetId: string,
  storeId: string,
  retry: { baseMs: number; maxAttempts: number },
  parent?: AbortSignal,
): Promise<{ outcome: DeleteOutcome; freedFiles: number; abandoned: boolean }> {
  try {
    await sendDelete(deps, kind, targetId, storeId, parent);
  } catch (err) {
    if (!isNotFound(err)) {
      const f = classifyFailure(err);
      const reason = f.status ? `HTTP ${f.status}: ${f.message}` : f.message;
      let abandoned = false;
      await withTransaction(deps.db, () => {
        const row = deps.state.pendingDelete(kind, targetId, storeId);
        if (!row) return;
        if (row.attempts + 1 >= retry.maxAttempts) {
          // Bounded: after this many tries the provider-side expiry is the backstop.
          deps.state.settleDelete(kind, targetId, storeId);
          abandoned = true;
          return;
        }
        const capMs = DEFAULTS.DEFERRED_DELETE_MAX_WAIT_MS;
        const wait = Math.min(f.retryAfterMs ?? backoffMs(row.attempts, { baseMs: retry.baseMs, capMs, jitter: 'none' }), capMs);
        deps.state.deferDelete(kind, targetId, storeId, reason, Date.now() + wait);
      });
      return { outcome: 'failed', freedFiles: 0, abandoned };
    }
  }
  let freedFiles = 0;
  await withTransaction(deps.db, () => {
    const now = Date.now();
    deps.state.settleDelete(kind, targetId, storeId);
    if (kind === 'store') {
      const freed = deps.state.forgetStore(targetId);
      freedFiles = oweFileDeletes(deps.state, freed.map((f) => f.file_id), now);
    }
  });
  return { outcome: 'deleted', freedFiles, abandoned: false };
}

/**
 * Deletes a store now (eviction) after recording the debt, so a failure or a crash
 * leaves it to the janitor. Resolves true when the store is gone.
 */
export async function deleteStoreNow(deps: CleanupDeps, storeId: string, parent?: AbortSignal): Promise<{ deleted: boolean; freedFiles: number }> {
  await withTransaction(deps.db, () => {
    const now = Date.now();
    deps.state.markStoreDeleting(storeId);
    deps.state.owe('store', storeId, '', now, now);
  });
  const r = await runOwedDelete(deps, 'store', storeId, '', { baseMs: 30_000, maxAttempts: 1_000 }, parent);
  return { deleted: r.outcome !== 'failed', freedFiles: r.freedFiles };
}
