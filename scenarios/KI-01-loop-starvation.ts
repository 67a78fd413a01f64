import { defineScenario } from '../harness/src/runner/scenario.ts';
import { MODELS, TREE, backToBackCheck, callById, overflowCall, overflowRun } from './KI-01-support/back-to-back.ts';
import { UPLOAD_PER_FILE_ENV } from './KI-01-support/upload-per-file.ts';

/**
 * KI-01, candidate "the event loop is starved by the previous query's fire-and-forget
 * work". In the first version the memory-storage task that ran after each answer did git
 * commands, json.dump and a synchronous client call on the event loop; the next query
 * stalled at whatever await it had reached.
 *
 * Inject: project memory on (the default), its upstream slow (each entry's attach takes
 * 1.5 s, scaled), and the same overflow query three times back to back in new sessions,
 * then a follow-up: every run starts while the previous run's memory task is running.
 *
 * Expect: the family's checks (KI-01-support/back-to-back.ts: runs 2 and 3 ≤ 1.5× run 1,
 * nothing held, each file uploaded once, one store per session, the follow-up reuses its
 * store), the common ping bound (< 100 ms) all through, and proof that the injection
 * bit: the memory write of run 1 was still open upstream while run 2 ran.
 *
 * Proven against `memory-on-event-loop` (git run synchronously once per file of the
 * conversation): responsive probe "ping max" 812 ms in-process and 688 ms loopback,
 * against the bound of 100 ms (the ~90 git processes run right when run 2 starts).
 */
const MEMORY_ATTACH_MS = 1_500;

export default defineScenario({
  id: 'KI-01',
  name: 'loop-starvation',
  title: 'Back-to-back overflow queries while the previous query’s memory task runs',
  timeScale: 60,
  modes: ['in-process', 'loopback'],
  timeoutMs: 40_000,
  server: { models: MODELS, env: { SECOND_BRAIN_MEMORY: 'true', ...UPLOAD_PER_FILE_ENV } },
  tree: TREE,
  // Only the memory store uses single-file attaches; session stores use file batches.
  fake: { faults: [{ route: 'vector_stores.files.create', fault: { type: 'latency', ms: MEMORY_ATTACH_MS } }] },
  steps: [
    ...overflowRun(1, 'ki01-loop'),
    ...overflowRun(2, 'ki01-loop'),
    ...overflowRun(3, 'ki01-loop'),
    overflowCall('follow-up', 'ki01-loop-1'),
    backToBackCheck({ runs: ['run-1', 'run-2', 'run-3'], followUp: 'follow-up', storesCreated: 3 }),
    {
      do: 'run',
      label: 'the memory write of run 1 was still running upstream while run 2 ran',
      run: async (ctx) => {
        const run2 = callById(ctx, 'run-2');
        const journal = await ctx.fake.journal();
        const memory = journal.filter((e) => e.route === 'vector_stores.files.create');
        const overlapped = memory.some((e) => e.startWallMs <= (run2.endMs ?? Infinity) && (e.endWallMs ?? Infinity) >= run2.startMs);
        const d = await ctx.driver.snapshotDiagnostics('memory');
        const m = (d?.memory ?? {}) as { queued?: number; failed?: number; stored?: number; running?: boolean };
        ctx.driver.mark(`memory: ${memory.length} attach(es) started, overlapped run 2: ${overlapped}; queued ${m.queued}, stored ${m.stored}, failed ${m.failed}`, 'note');
        if (!overlapped) throw new Error(`no memory write was open upstream while run 2 ran (${memory.length} memory attaches in all): the injection did not overlap the runs`);
        if (m.failed) throw new Error(`${m.failed} memory task(s) failed`);
      },
    },
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs (up to 22 sockets, ~10 for the 2 tokenizer workers)',
    },
  },
  provenAgainst: { defect: 'memory-on-event-loop', note: 'the memory task runs git synchronously once per file, as the first version did' },
});
