/**
 * KI-19: a batch stuck `in_progress` ends at the batch deadline, not the call's — also
 * when reading its result never ends (a mock or proxy replaying one file page forever).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { attachInBatches } from './batches.ts';
import type { BatchDeps } from './batches.ts';
import { resolveVectorLimits } from './limits.ts';
import { ThrottleGate } from '../resilience/throttle-gate.ts';
import { patience } from '@second-brain/harness';

test('KI-19: a stuck batch whose file list replays one page ends at the batch deadline', { timeout: patience(20_000) }, async () => {
  const batch = { id: 'vsfb_1', object: 'vector_store.files_batch', status: 'in_progress', created_at: 1, vector_store_id: 'vs_1', file_counts: { in_progress: 1, completed: 0, failed: 0, cancelled: 0, total: 1 } };
  let listCalls = 0;
  // The same page, claiming there is more, every time (Prism's mock mode answers like this).
  const page = (): any => ({ data: [{ id: 'file-1', status: 'in_progress', last_error: null }], hasNextPage: () => true, getNextPage: async () => { listCalls++; await new Promise((r) => setTimeout(r, 200)); return page(); } });
  const client = {
    vectorStores: {
      fileBatches: {
        create: async () => batch,
        retrieve: async () => batch,
        cancel: async () => ({ ...batch, status: 'cancelling' }),
        listFiles: async () => { listCalls++; return page(); },
      },
    },
  } as unknown as OpenAI;
  const limits = resolveVectorLimits({ batchDeadlineMs: 300, batchPollIntervalMs: 20, cleanupRequestTimeoutMs: 300, uploadMaxAttempts: 1 });
  const deps: BatchDeps = {
    client, gate: new ThrottleGate(), limits, report: () => {}, onHeadroom: () => {}, background: () => {}, onCancelled: () => {},
    counters: { batches: 0, batchesCancelled: 0, attachRetries: 0 },
  };
  const started = Date.now();
  // The call's own deadline is far away: only the batch budget may end this.
  const out = await attachInBatches(deps, 'vs_1', ['file-1'], AbortSignal.timeout(patience(15_000)));
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 3_000, `ended after ${elapsed} ms; batch budget 300 ms + 300 ms to read the result`);
  assert.equal(out.attached.size, 0);
  assert.match(out.failed.get('file-1') ?? '', /still processing|could not read/);
  assert.ok(listCalls < 10, `${listCalls} file-list pages read`);
});
