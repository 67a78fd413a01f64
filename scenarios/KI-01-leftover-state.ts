import { defineScenario } from '../harness/src/runner/scenario.ts';
import { MODELS, TREE, backToBackCheck, overflowCall, overflowRun } from './KI-01-support/back-to-back.ts';
import { UPLOAD_PER_FILE_ENV } from './KI-01-support/upload-per-file.ts';

/**
 * KI-01, candidate "the previous query left state behind": a lock, a semaphore, a pooled
 * connection, a background task. The first overflow query made its store and uploaded
 * ~80 files; the same query run again hung before its store was created, with no error
 * and no log line.
 *
 * Inject: the same overflow query three times back to back with no pause (0 s gap),
 * each in a new session as in the seed log, then a follow-up in the first session.
 * Loopback mode adds real keep-alive sockets, so a pooled connection left in a bad state
 * shows there. Memory storage is off: fire-and-forget work is KI-01-loop-starvation.
 *
 * Expect (KI-01-support/back-to-back.ts): every run succeeds; runs 2 and 3 ≤ 1.5× run 1;
 * nothing held after any run; each file uploaded once; one store per session; the
 * follow-up reuses its store.
 *
 * Proven against `store-create-lock-leak`: run 2 waits for the creation lock run 1 never
 * gave back and ends at its 6 s deadline; calls probe "run-2: ended success" fails, and
 * the check reports "run-2 took 6005 ms, 10.1× run 1 (593 ms)" (in-process; loopback
 * 6004 ms, 9.2×).
 */
export default defineScenario({
  id: 'KI-01',
  name: 'leftover-state',
  title: 'Back-to-back overflow queries: no lock, slot, pooled socket or task carries over',
  modes: ['in-process', 'loopback'],
  timeoutMs: 40_000,
  server: { models: MODELS, env: { SECOND_BRAIN_MEMORY: 'false', ...UPLOAD_PER_FILE_ENV } },
  tree: TREE,
  steps: [
    ...overflowRun(1, 'ki01-state'),
    ...overflowRun(2, 'ki01-state'),
    ...overflowRun(3, 'ki01-state'),
    // Deliberate reuse: the first session comes back with the same question.
    overflowCall('follow-up', 'ki01-state-1'),
    backToBackCheck({ runs: ['run-1', 'run-2', 'run-3'], followUp: 'follow-up', storesCreated: 3 }),
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors over 9 runs (up to 22 sockets, ~10 for the 2 tokenizer workers), the same 5 s later; in-process +7…+13',
    },
  },
  provenAgainst: { defect: 'store-create-lock-leak', note: 'run 2 waits for a store-creation lock run 1 never gave back, as the first version waited for its SDK semaphore' },
});
