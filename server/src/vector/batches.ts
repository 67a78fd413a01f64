/**
 * Attaching uploaded files to a store through file batches (KI-19).
 *
 * - Own poll loop: interval, per-batch deadline, signal. The SDK's poll helpers have no
 *   overall deadline and can spin on a `cancelled` file, so they are not used.
 * - Files that end `failed` (or are cancelled by the provider) are retried in a new
 *   batch with backoff, up to `uploadMaxAttempts` times; the rest of the batch and the
 *   other batches carry on.
 * - A batch still in progress after its budget is cancelled upstream and its unfinished
 *   files are reported as failed.
 * - On abort the unfinished batch is cancelled upstream in the background, off the
 *   aborted signal, with its own short deadline (KI-03).
 */
import type OpenAI from 'openai';
import type { FileBatchCreateParams, VectorStoreFileBatch } from 'openai/resources/vector-stores/file-batches';
import { classifyFailure } from '../resilience/classify.ts';
import { abortReasonToError } from '../errors.ts';
import { backoffMs } from '../resilience/retry.ts';
import type { ThrottleGate } from '../resilience/throttle-gate.ts';
import { forEachLimit } from './pool.ts';
import type { VectorLimits } from './types.ts';
import { cleanupSignal, sleep, withRetry } from './upstream.ts';
import { defectOn } from '../config/test-defects.ts';

export interface BatchDeps {
  client: OpenAI;
  gate: ThrottleGate;
  limits: VectorLimits;
  report: (message: string) => void;
  onHeadroom: (remaining: number) => void;
  /** Runs cleanup after the call has returned (batch cancel on abort). */
  background: (work: () => Promise<void>) => void;
  onCancelled: (batchId: string, reason: 'deadline' | 'aborted') => void;
  counters: { batches: number; batchesCancelled: number; attachRetries: number };
}

export interface AttachOutcome {
  attached: Set<string>;
  /** file id → reason */
  failed: Map<string, string>;
}

function reasonOf(err: unknown): string {
  const f = classifyFailure(err);
  return f.status ? `HTTP ${f.status}${f.code ? ` ${f.code}` : ''}: ${f.message}` : f.message;
}

async function cancelBatch(deps: BatchDeps, storeId: string, batchId: string, parent?: AbortSignal): Promise<void> {
  try {
    await deps.client.vectorStores.fileBatches.cancel(batchId, { vector_store_id: storeId },
      { signal: cleanupSignal(deps.limits.cleanupRequestTimeoutMs, parent), maxRetries: 0 });
  } catch {
    // Best effort: the store's own expiry and the janitor's store cleanup are the backstop.
  }
}

/**
 * The project-relative path goes along as a file attribute: file_search returns
 * attributes with each hit, and upload names may lose their directories in transit.
 */
function batchBody(ids: string[], pathOf?: (fileId: string) => string | undefined): FileBatchCreateParams {
  if (!pathOf) return { file_ids: ids };
  return {
    files: ids.map((id) => {
      const path = pathOf(id);
      return path ? { file_id: id, attributes: { path: path.slice(0, 512) } } : { file_id: id };
    }),
  };
}

type PollResult = { kind: 'final'; batch: VectorStoreFileBatch; deadline: number } | { kind: 'timeout'; deadline: number };

async function pollBatch(deps: BatchDeps, storeId: string, first: VectorStoreFileBatch, signal: AbortSignal): Promise<PollResult> {
  const { limits } = deps;
  // Test-only defect (KI-19): no budget of its own, as with the SDK's poll helpers.
  const deadline = Date.now() + (defectOn('batch-no-deadline') ? 2_000_000_000 : limits.batchDeadlineMs);
  let batch = first;
  while (batch.status === 'in_progress') {
    const left = deadline - Date.now();
    if (left <= 0) return { kind: 'timeout', deadline };
    await sleep(Math.min(limits.batchPollIntervalMs, left), signal);
    // A poll that hangs must not outlive the batch budget.
    const pollSignal = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, deadline - Date.now()))]);
    try {
      batch = await withRetry(
        (s) => deps.client.vectorStores.fileBatches.retrieve(batch.id, { vector_store_id: storeId }, { signal: s, maxRetries: 0 }),
        { signal: pollSignal, gate: deps.gate, attempts: limits.uploadMaxAttempts, baseDelayMs: limits.retryBaseDelayMs, maxDelayMs: limits.retryMaxDelayMs, report: deps.report, onHeadroom: deps.onHeadroom },
      );
    } catch (err) {
      if (signal.aborted) throw abortReasonToError(signal.reason);
      if (Date.now() >= deadline) return { kind: 'timeout', deadline };
      throw err;
    }
    const c = batch.file_counts;
    deps.report(`attaching files: ${c.completed}/${c.total} processed`);
  }
  return { kind: 'final', batch, deadline };
}

async function fileStatuses(deps: BatchDeps, storeId: string, batchId: string, signal: AbortSignal): Promise<Map<string, { status: string; reason?: string }>> {
  const out = new Map<string, { status: string; reason?: string }>();
  const list = () => deps.client.vectorStores.fileBatches.listFiles(batchId, { vector_store_id: storeId, limit: 100 }, { signal, maxRetries: 0 });
  let page = await withRetry(() => list(), { signal, gate: deps.gate, attempts: deps.limits.uploadMaxAttempts, report: deps.report });
  for (let pages = 0; ; pages++) {
    const before = out.size;
    for (const f of page.data) out.set(f.id, { status: f.status, reason: f.last_error ? `${f.last_error.code}: ${f.last_error.message}` : undefined });
    // Bounded: a batch holds at most batchMaxFiles files, and a page that brings no new
    // file means the cursor is not advancing (a mock or a proxy replaying one page).
    if (!page.hasNextPage() || pages > 100 || out.size === before) break;
    const current = page;
    page = await withRetry(() => current.getNextPage(), { signal, gate: deps.gate, attempts: deps.limits.uploadMaxAttempts, report: deps.report });
  }
  return out;
}

/** Attaches one chunk of file ids, retrying failed files; never throws except on abort. */
async function attachChunk(
  deps: BatchDeps, storeId: string, ids: string[], signal: AbortSignal, out: AttachOutcome, pathOf?: (fileId: string) => string | undefined,
): Promise<void> {
  const { limits } = deps;
  let pending = ids;
  let lastReason = new Map<string, string>();
  for (let attempt = 0; pending.length > 0 && attempt < limits.uploadMaxAttempts; attempt++) {
    if (attempt > 0) {
      deps.counters.attachRetries += pending.length;
      const wait = backoffMs(attempt, { baseMs: limits.retryBaseDelayMs, capMs: limits.retryMaxDelayMs, floorMs: limits.retryBaseDelayMs });
      deps.report(`${pending.length} file(s) failed to attach; retrying in ${Math.ceil(wait / 1000)} s`);
      await sleep(wait, signal);
    }
    let batch: VectorStoreFileBatch;
    try {
      batch = await withRetry(
        (s) => deps.client.vectorStores.fileBatches.create(storeId, batchBody(pending, pathOf), { signal: s, maxRetries: 0 }),
        { signal, gate: deps.gate, attempts: limits.uploadMaxAttempts, baseDelayMs: limits.retryBaseDelayMs, maxDelayMs: limits.retryMaxDelayMs, report: deps.report, onHeadroom: deps.onHeadroom },
      );
    } catch (err) {
      if (signal.aborted) throw abortReasonToError(signal.reason);
      const reason = `could not create a file batch: ${reasonOf(err)}`;
      for (const id of pending) out.failed.set(id, reason);
      return;
    }
    deps.counters.batches++;
    let result: PollResult;
    try {
      result = await pollBatch(deps, storeId, batch, signal);
    } catch (err) {
      if (signal.aborted) {
        // KI-03: the batch would otherwise keep processing for a call nobody waits for.
        const batchId = batch.id;
        deps.onCancelled(batchId, 'aborted');
        deps.background(() => cancelBatch(deps, storeId, batchId));
        throw abortReasonToError(signal.reason);
      }
      const reason = `could not follow the file batch: ${reasonOf(err)}`;
      for (const id of pending) out.failed.set(id, reason);
      return;
    }
    const timedOut = result.kind === 'timeout';
    if (timedOut) {
      deps.counters.batchesCancelled++;
      deps.onCancelled(batch.id, 'deadline');
      await cancelBatch(deps, storeId, batch.id, signal);
    }
    let statuses: Map<string, { status: string; reason?: string }>;
    // The batch's budget bounds reading its result too (with one cleanup request's time
    // after a timeout), so a stuck batch ends at the batch deadline, not the call's.
    const resultBudgetMs = Math.max(result.deadline - Date.now(), 0) + limits.cleanupRequestTimeoutMs;
    try {
      statuses = await fileStatuses(deps, storeId, batch.id, AbortSignal.any([signal, AbortSignal.timeout(resultBudgetMs)]));
    } catch (err) {
      if (signal.aborted) throw abortReasonToError(signal.reason);
      // Without per-file statuses, trust the batch only when it completed cleanly.
      const final = result.kind === 'final' ? result.batch : undefined;
      if (final && final.status === 'completed' && final.file_counts.failed === 0 && final.file_counts.cancelled === 0) {
        for (const id of pending) out.attached.add(id);
      } else {
        const reason = `could not read the file batch result: ${reasonOf(err)}`;
        for (const id of pending) out.failed.set(id, reason);
      }
      return;
    }
    const next: string[] = [];
    lastReason = new Map();
    for (const id of pending) {
      const s = statuses.get(id);
      if (s?.status === 'completed') { out.attached.add(id); continue; }
      if (timedOut) {
        out.failed.set(id, `still processing after ${(limits.batchDeadlineMs / 1000).toFixed(limits.batchDeadlineMs < 10_000 ? 1 : 0)} s; the batch was cancelled`);
        continue;
      }
      next.push(id);
      lastReason.set(id, s?.reason ?? `file ${s?.status ?? 'missing from the batch'}`);
    }
    pending = next;
  }
  for (const id of pending) {
    out.failed.set(id, `${lastReason.get(id) ?? 'failed'} (after ${limits.uploadMaxAttempts} attempts)`);
  }
}

/** Attaches `fileIds` to `storeId` in batches of `batchMaxFiles`, `batchConcurrency` at once. */
export async function attachInBatches(deps: BatchDeps, storeId: string, fileIds: string[], signal: AbortSignal, pathOf?: (fileId: string) => string | undefined): Promise<AttachOutcome> {
  const out: AttachOutcome = { attached: new Set(), failed: new Map() };
  const chunks: string[][] = [];
  for (let i = 0; i < fileIds.length; i += deps.limits.batchMaxFiles) chunks.push(fileIds.slice(i, i + deps.limits.batchMaxFiles));
  const errors = await forEachLimit(chunks, deps.limits.batchConcurrency, signal, (chunk) => attachChunk(deps, storeId, chunk, signal, out, pathOf));
  if (signal.aborted) throw abortReasonToError(signal.reason);
  for (const e of errors) {
    for (const id of chunks[e.index]!) if (!out.attached.has(id)) out.failed.set(id, reasonOf(e.error));
  }
  return out;
}
