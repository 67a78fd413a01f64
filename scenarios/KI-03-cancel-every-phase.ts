import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { Step } from '../harness/src/runner/scenario.ts';
import { diagnose, expectSessionIdle } from './KI-20-support/diagnostics.ts';
import { expectNoProgressAfterReply, tolerateLateProgress } from './KI-20-support/protocol.ts';
import { FILE_TRACES_ENV, expectCancelledSpan } from './KI-20-support/traces.ts';
import { expectUpstreamAfterCancel } from './KI-20-support/upstream.ts';
import { UPLOAD_PER_FILE_ENV } from './KI-01-support/upload-per-file.ts';

/**
 * KI-03: aborting during "Creating vector store with 82 files" produced no cancel log,
 * and the upload went on or hung. The client's cancel (MCP `notifications/cancelled`)
 * must reach every await of the call: file reads, upload requests, batch polling, the
 * backoff sleep after a 429, and background-response polling. At each phase, each with
 * its own call and its own checks:
 * - every upstream request open at the cancel is aborted within 50 ms;
 * - no upstream request for the call starts afterwards (cleanup excepted);
 * - an unfinished batch and a background response are cancelled upstream;
 * - uploads that finished before the cancel stay in the server's bookkeeping (the same
 *   files sent again are not uploaded twice; the janitor deletes them once unreferenced),
 *   and no file object upstream is left untracked;
 * - the call's span is marked cancelled, and within 200 ms the server reports no work in
 *   flight for it.
 *
 * The catalogue gives no durations here; the server's own intervals (polling, progress)
 * run 10× faster (SECOND_BRAIN_TIME_SCALE=0.1).
 *
 * Proven against (each phase fails on its own defect, `--defect NAME`):
 * - poll-ignores-signal (the `provenAgainst` run): background phase — 1 responses.retrieve
 *   after the cancel (bound 0), the call still "in poll" 511 ms after it (bound 200 ms);
 * - no-upstream-cancel: background phase — no responses.cancel within 1 000 ms;
 * - gather-ignores-signal: read phase — still "in gather" 458 ms after the cancel;
 * - upload-ignores-signal: upload phase — 4 POST /files never aborted (bound 50 ms), still
 *   "in upload" 556 ms after the cancel;
 * - retry-sleep-ignores-signal: backoff phase — still "in provider" 384 ms after the cancel.
 * The batch-polling phase has no defect switch of its own (its poll loop lives in the
 * vector-store code); upload-ignores-signal, which drops the signal for the whole attach,
 * covers it.
 */

/** Tiny context window for gpt-4.1: nothing fits inline, so every file of the call overflows to a vector store. */
const OVERFLOW_WINDOW_TOKENS = 9_000;
/** How long after the cancel the server may still list the call's work in flight. */
const STOP_WITHIN_MS = 200;

/**
 * The project: 4 000 files of 2 KiB spread over 21 directories (depth 2, fanout 4), so that
 * reading them all takes long enough to cancel in the middle. File `mod_<i>.ts` lies in
 * directory `i % 21`; those with i a multiple of 21 lie at the root.
 */
const TREE = { files: 4_000, sizeBytes: 2_048, depth: 2, fanout: 4 };
const DIRS = 21;
/** `n` root files, from the `from`-th one (`$PROJECT` in steps; the real root in `run` steps). */
const files = (from: number, n: number, root = '$PROJECT') => Array.from({ length: n }, (_, i) => `${root}/mod_${(from + i) * DIRS}.ts`);
const ask = { instructions: 'What does this module do?', disable_memory_search: true };

/** After each cancelled call: its work stopped, and its span says it was cancelled. */
const checks = (id: string, session: string, upstreamCancel?: string): Step => ({
  do: 'run',
  label: `${id}: work stopped${upstreamCancel ? `, ${upstreamCancel} sent` : ''}, span marked cancelled`,
  run: async (ctx) => {
    await expectSessionIdle(ctx, session, STOP_WITHIN_MS);
    if (upstreamCancel) await expectUpstreamAfterCancel(ctx, id, upstreamCancel);
    await expectCancelledSpan(ctx, id);
  },
});

export default defineScenario({
  id: 'KI-03',
  name: 'cancel-every-phase',
  title: 'A cancel reaches file reads, uploads, batch polling, retry backoff and background polling',
  timeScale: 10,
  modes: ['in-process', 'loopback'],
  timeoutMs: 20_000,
  server: {
    env: {
      SECOND_BRAIN_MEMORY: 'false', SECOND_BRAIN_TIME_SCALE: '0.1', ...FILE_TRACES_ENV, ...UPLOAD_PER_FILE_ENV,
      // The janitor's start-up pass (KI-13's subject, 0.5 s after start at this time scale)
      // lists stores and files while the phases below run; the journal cannot tell whose a
      // request is, so its listing would count as traffic of the cancelled calls.
      SECOND_BRAIN_JANITOR: JSON.stringify({ startupDelayMs: 600_000 }),
    },
    models: { 'gpt-4.1': { context_window: OVERFLOW_WINDOW_TOKENS } },
  },
  tree: TREE,
  steps: [
    { do: 'run', label: 'tolerate progress that crosses a reply or a cancel on the wire', run: async (ctx) => tolerateLateProgress(ctx) },
    // 1. While files are read: cancel on the first "Reading files: n/N" progress. Nothing may reach upstream.
    {
      do: 'call', id: 'read', tool: 'chat_with_gpt41', session: 'ki03-read',
      args: { ...ask, context: ['$PROJECT'] },
      cancel: { onProgress: { messageMatches: '^Reading files: \\d+/' } },
      expect: { outcome: 'cancelled' },
    },
    checks('read', 'ki03-read'),

    // 2. During the third of ten uploads: the first two finish, the rest hang at the fake.
    {
      do: 'faults',
      replace: [
        { route: 'files.create', calls: [1, 2], fault: { type: 'latency', ms: 10 } },
        { route: 'files.create', calls: { from: 3 }, fault: { type: 'latency', ms: 5_000 } },
      ],
    },
    {
      do: 'call', id: 'upload', tool: 'chat_with_gpt41', session: 'ki03-upload',
      args: { ...ask, context: files(0, 10) },
      cancel: { when: { route: 'files.create', nth: 3 }, delayMs: 100 },
      expect: { outcome: 'cancelled' },
    },
    checks('upload', 'ki03-upload'),
    {
      // The two uploads that finished before the cancel are kept in the server's bookkeeping
      // (not leaked upstream): the same files sent again upload only the other eight.
      do: 'run',
      label: 'partial uploads are tracked: a resend uploads only the missing files',
      run: async (ctx) => {
        await ctx.fake.clearFaults();
        const before = (await ctx.fake.journal()).filter((e) => e.route === 'files.create').length;
        const again = await ctx.driver.call({ id: 'upload-again', tool: 'chat_with_gpt41', args: { ...ask, session_id: 'ki03-upload-again', context: files(0, 10, ctx.tree!.root) }, timeoutMs: 10_000 });
        if (again.outcome !== 'success') throw new Error(`The resend failed: ${again.outcome}: ${again.text.slice(0, 200)}`);
        const uploads = (await ctx.fake.journal()).filter((e) => e.route === 'files.create').length - before;
        if (uploads !== 8) throw new Error(`The resend uploaded ${uploads} file(s); 8 were expected (2 of the 10 had finished before the cancel).`);
      },
    },

    // 3. During batch polling: the batch never leaves in_progress; cancel at its second poll.
    { do: 'faults', replace: [{ route: 'vector_stores.file_batches.create', fault: { type: 'batch-stuck' } }] },
    {
      do: 'call', id: 'batch', tool: 'chat_with_gpt41', session: 'ki03-batch',
      args: { ...ask, context: files(20, 10) },
      cancel: { when: { route: 'vector_stores.file_batches.retrieve', nth: 2 }, delayMs: 20 },
      expect: { outcome: 'cancelled' },
    },
    checks('batch', 'ki03-batch', 'vector_stores.file_batches.cancel'),

    // 4. During background-response polling (o3 runs in background mode): queued for a minute; cancel at the second poll.
    { do: 'faults', replace: [{ route: 'responses.create', fault: { type: 'background', queuedMs: 60_000 } }] },
    {
      do: 'call', id: 'background', tool: 'chat_with_o3', session: 'ki03-background',
      args: ask,
      cancel: { when: { route: 'responses.retrieve', nth: 2 }, delayMs: 20 },
      expect: { outcome: 'cancelled' },
    },
    checks('background', 'ki03-background', 'responses.cancel'),
    // 5. During the backoff sleep after a 429 (retry-after 1 s): cancel 150 ms into the sleep.
    { do: 'faults', replace: [{ route: 'responses.create', times: 1, fault: { type: 'rate-limit', retryAfterMs: 1_000 } }] },
    {
      do: 'call', id: 'backoff', tool: 'chat_with_gpt41', session: 'ki03-backoff',
      args: ask,
      cancel: { when: { route: 'responses.create', event: 'ended' }, delayMs: 150 },
      expect: { outcome: 'cancelled' },
    },
    checks('backoff', 'ki03-backoff'),

    { do: 'faults', clear: true },
    {
      // Nothing uploaded before a cancel is left untracked upstream: every file object the
      // provider holds is one the server knows (ready, or owed to the janitor).
      do: 'run',
      label: 'every upstream file is tracked by the server',
      run: async (ctx) => {
        const upstream = (await ctx.fake.state()).files.length;
        const vs = (await diagnose(ctx, 'file bookkeeping')).vector_stores as { files?: number; pendingDeletes?: number } | undefined;
        const tracked = (vs?.files ?? 0) + (vs?.pendingDeletes ?? 0);
        if (upstream > tracked) throw new Error(`${upstream} file object(s) upstream, but the server tracks only ${tracked} (ready + owed deletes).`);
      },
    },
    { do: 'run', label: 'no progress after a reply', run: async (ctx) => expectNoProgressAfterReply(ctx) },
  ],
  assert: {
    cancellation: { maxLatencyMs: 50, maxRequestsAfter: 0, expectOpenRequest: false },
  },
  provenAgainst: { defect: 'poll-ignores-signal', note: 'background polling sleeps and retrieves without the signal: a retrieve after the cancel, the call still in poll' },
});
