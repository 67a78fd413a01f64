import { defineScenario } from '../harness/src/runner/scenario.ts';
import { CLEANUP_BUDGET_MS, SERVER, TIME_SCALE, TREE, hungCleanupSteps } from './KI-02-support/hung-cleanup.ts';

/**
 * KI-02 with a delete that answers, but later than the cleanup budget: the first
 * version's 5 s timeout fired on deletes that would have finished, and the cancellation
 * left the client's semaphore acquired.
 *
 * Inject: the first two `DELETE /vector_stores/{id}` requests take 3 s, longer than the
 * janitor's 2 s budget (scaled 5 s), so both are cut off; queries keep coming meanwhile,
 * one of them with changed files. Later deletes answer at once.
 *
 * Expect: as KI-02-hung-delete (KI-02-support/hung-cleanup.ts).
 *
 * Proven against `delete-leaks-permit`, as KI-02-hung-delete.
 */
export default defineScenario({
  id: 'KI-02',
  name: 'slow-delete',
  title: 'A store delete slower than the cleanup budget poisons nothing later calls need',
  timeScale: TIME_SCALE,
  modes: ['in-process', 'loopback'],
  timeoutMs: 40_000,
  server: SERVER,
  tree: TREE,
  fake: { faults: [{ route: 'vector_stores.delete', calls: { to: 2 }, fault: { type: 'latency', ms: CLEANUP_BUDGET_MS + 1_000 } }] },
  steps: hungCleanupSteps(),
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs (up to 22 sockets, ~10 for the 2 tokenizer workers)',
    },
  },
  provenAgainst: { defect: 'delete-leaks-permit', note: 'a delete cut off by its deadline keeps the client permit, as the first version’s SDK semaphore did' },
});
