import { basename } from 'node:path';
import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { StepContext } from '../harness/src/runner/step-context.ts';
import type { CallRecord } from '../harness/src/driver/types.ts';
import { UPLOAD_LIMITS_PER_FILE, bundledFileName } from './KI-01-support/upload-per-file.ts';

/**
 * KI-19: more than 20 files were split into 10 parallel batches, and one batch could fail
 * alone.
 *
 * Inject: 78 overflow files attached in 10 batches of 8, all at once. A first query
 * uploads them (no faults), so the faulted query that follows is all attach: the fifth
 * batch create fails with a 500 once; two files of the first batch (the first two
 * overflow files by path) end `failed` in every batch they are in; the tenth batch never
 * leaves `in_progress`.
 *
 * Expect:
 * - the call succeeds and the other batches finish: every other file is attached;
 * - the 500 is retried; the failed files are retried in new batches with backoff (at
 *   least the base delay, 100 ms here) a bounded number of times: 3 attempts in all;
 * - the stuck batch is cancelled upstream at its budget (1.5 s here, the production
 *   120 s at time scale 80), and its files are reported, not waited for;
 * - the answer names the files that could not be attached, with the reason.
 *
 * Proven against `batch-no-deadline` (polled without a budget of its own, as with the
 * SDK's poll helpers): the stuck batch holds the call until its 8 s deadline (calls probe
 * "attach: ended success" fails; no batch cancel is sent).
 */

const BATCH_FILES = 8;
const BATCH_DEADLINE_MS = 1_500;
const RETRY_BASE_MS = 100;
const ATTEMPTS = 3;
const O3_DEADLINE_S = 8;
/** Upload names (basenames) of the files that always fail, chosen after the first query. */
let failing: string[] = [];

const ask = (session: string) => ({ instructions: 'Where is the retry budget enforced?', context: ['$PROJECT'], session_id: session, disable_memory_search: true });

function callById(ctx: StepContext, id: string): CallRecord {
  const c = ctx.driver.calls.find((x) => x.id === id);
  if (!c) throw new Error(`no call "${id}" was made`);
  return c;
}

export default defineScenario({
  id: 'KI-19',
  name: 'partial-batch-failure',
  title: 'One batch fails, some files fail, one batch is stuck: the rest attach, the answer says what did not',
  timeScale: 80,
  modes: ['in-process', 'loopback'],
  timeoutMs: 30_000,
  server: {
    models: { o3: { context_window: 20_000, timeout_s: O3_DEADLINE_S } },
    env: {
      SECOND_BRAIN_MEMORY: 'false',
      SECOND_BRAIN_VECTOR_LIMITS: JSON.stringify({
        batchMaxFiles: BATCH_FILES, batchConcurrency: 10, batchDeadlineMs: BATCH_DEADLINE_MS, batchPollIntervalMs: 100,
        uploadMaxAttempts: ATTEMPTS, retryBaseDelayMs: RETRY_BASE_MS, retryMaxDelayMs: 400, ...UPLOAD_LIMITS_PER_FILE,
      }),
    },
  },
  tree: { files: 90, sizeBytes: 2_048 },
  // Attached files take a moment to process, so batches are polled rather than done at once.
  fake: { fileProcessingMs: 200 },
  steps: [
    { do: 'call', id: 'upload', tool: 'chat_with_o3', args: ask('ki19-upload'), timeoutMs: (O3_DEADLINE_S + 2) * 1_000, expect: { outcome: 'success' } },
    {
      do: 'run',
      label: 'faults: a 500 on the 5th batch, two files of the 1st batch always fail, the 10th batch is stuck',
      run: async (ctx) => {
        const journal = await ctx.fake.journal();
        // One upload per overflow file, named after the file it holds.
        const uploadOf = new Map(journal.filter((e) => e.route === 'files.create' && e.status === 200).map((e) => [bundledFileName(e.fileName ?? ''), e.fileName ?? '']));
        // Batches are filled in path order: the first two overflow files by path share the first batch.
        const overflow = ctx.tree!.files.filter((f) => uploadOf.has(basename(f))).sort();
        failing = overflow.slice(0, 2).map((f) => basename(f));
        await ctx.fake.addFaults([
          { route: 'vector_stores.file_batches.create', calls: [5], fault: { type: 'status', status: 500 } },
          { route: 'vector_stores.file_batches.create', calls: [10], fault: { type: 'batch-stuck' } },
          { route: 'vector_stores.file_batches.create', fault: { type: 'file-status', status: 'failed', fileNames: failing.map((f) => uploadOf.get(f)!), code: 'server_error' } },
        ]);
        ctx.driver.mark(`always failing: ${failing.join(', ')} (of ${overflow.length} overflow files)`, 'note');
      },
    },
    { do: 'call', id: 'attach', tool: 'chat_with_o3', args: ask('ki19'), timeoutMs: (O3_DEADLINE_S + 2) * 1_000, expect: { outcome: 'success', textMatches: 'could not be attached to the vector store' } },
    {
      do: 'run',
      label: 'other batches finished; failures retried with backoff, bounded; the stuck batch cancelled; the answer names what is missing',
      run: async (ctx) => {
        const c = callById(ctx, 'attach');
        const context = (c.structured?.context ?? {}) as { files_in_vector_store?: number; not_attached?: Array<{ path: string; reason: string }> };
        const missing = context.not_attached ?? [];
        const journal = (await ctx.fake.journal()).filter((e) => e.startWallMs >= c.startMs);
        const creates = journal.filter((e) => e.route === 'vector_stores.file_batches.create');
        const created = creates.filter((e) => e.status === 200);
        const retries = created.filter((e) => (e.fileCount ?? 0) <= failing.length).sort((a, b) => a.startWallMs - b.startWallMs);
        const cancels = journal.filter((e) => e.route === 'vector_stores.file_batches.cancel');
        const state = await ctx.fake.state();
        const stuck = creates.find((e) => e.faults.includes('batch-stuck'));
        const stuckState = state.fileBatches.find((b) => b.id === stuck?.batchId)?.status;
        const failedPaths = missing.filter((m) => failing.includes(basename(m.path)));
        const stuckPaths = missing.filter((m) => /still processing[^]*cancelled/i.test(m.reason));
        // Backoff: each try of the failing files starts at least the base delay after the
        // previous try's result was read (its file list).
        // The first try of the failing files: the fake counts a file in the batch it was last
        // attached by, so that batch now holds two files fewer than it was created with.
        const firstTry = created.find((e) => (e.fileCount ?? 0) > failing.length && state.fileBatches.find((b) => b.id === e.batchId)?.file_counts.total === (e.fileCount ?? 0) - failing.length);
        const chain = [firstTry, ...retries];
        const gaps = retries.map((r, i) => {
          const readAt = journal.filter((e) => e.route === 'vector_stores.file_batches.files' && e.batchId === chain[i]?.batchId).map((e) => e.endWallMs ?? e.startWallMs);
          return readAt.length ? r.startWallMs - Math.max(...readAt) : Number.NaN;
        });
        ctx.driver.mark(
          `batches: ${creates.length} creates (${creates.filter((e) => e.status === 500).length} × 500), ${retries.length} retry batch(es) of the failing files, ${gaps.map((g) => Math.round(g)).join(', ')} ms after the previous try; ` +
          `stuck batch ${stuckState} upstream after ${cancels.length} cancel(s); in store ${context.files_in_vector_store}, not attached ${missing.length} ` +
          `(${failedPaths.length} failed, ${stuckPaths.length} of the stuck batch); call ${Math.round((c.endMs ?? 0) - c.startMs)} ms`, 'note');
        const problems: string[] = [];
        if (c.outcome !== 'success') problems.push(`the call ended ${c.outcome}: ${c.text.slice(0, 200)}`);
        if (failedPaths.length !== failing.length) problems.push(`the answer names ${failedPaths.length} of the ${failing.length} failing files`);
        for (const f of failing) if (!c.text.includes(f)) problems.push(`the answer text does not name ${f}`);
        if (failedPaths.some((m) => !/after 3 attempts/.test(m.reason))) problems.push(`failing files not reported after ${ATTEMPTS} attempts: ${failedPaths.map((m) => m.reason).join(' | ')}`);
        if (!stuck) problems.push('no batch was stuck: the injection did not bite');
        if (stuckPaths.length !== stuck?.fileCount) problems.push(`${stuckPaths.length} file(s) reported for the stuck batch, expected its ${stuck?.fileCount}`);
        if (!cancels.some((e) => e.batchId === stuck?.batchId)) problems.push('the stuck batch was not cancelled upstream');
        if (stuckState !== 'cancelled') problems.push(`the stuck batch ended ${stuckState} upstream, not cancelled`);
        if (creates.filter((e) => e.status === 500).length !== 1) problems.push('the 500 on the fifth batch was not seen once');
        if (!firstTry) problems.push('no first batch with the two failing files was found');
        if (retries.length !== ATTEMPTS - 1) problems.push(`${retries.length} retry batch(es) for the failing files, expected ${ATTEMPTS - 1} (bounded: ${ATTEMPTS} attempts)`);
        if (gaps.some((g) => !(g >= RETRY_BASE_MS - 5))) problems.push(`a retry went out ${gaps.map((g) => Math.round(g)).join(', ')} ms after the previous try, under the ${RETRY_BASE_MS} ms backoff`);
        const expectedInStore = 78 - missing.length;
        if (context.files_in_vector_store !== expectedInStore) problems.push(`${context.files_in_vector_store} files in the store, expected ${expectedInStore}`);
        if ((c.endMs ?? Infinity) - c.startMs > BATCH_DEADLINE_MS + 3_000) problems.push('the call waited far past the stuck batch’s budget');
        if (problems.length) throw new Error(problems.join('; '));
      },
    },
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus 10 batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs',
    },
  },
  provenAgainst: { defect: 'batch-no-deadline', note: 'a stuck batch polled without a budget of its own, as with the SDK poll helpers' },
});
