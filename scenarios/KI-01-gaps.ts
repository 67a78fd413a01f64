import { defineScenario } from '../harness/src/runner/scenario.ts';
import { MODELS, TREE, backToBackCheck, overflowCall, overflowRun } from './KI-01-support/back-to-back.ts';
import { UPLOAD_PER_FILE_ENV } from './KI-01-support/upload-per-file.ts';

/**
 * KI-01 with pauses between the queries. In the seed log waiting 5 minutes between two
 * file queries hid the hang and waiting 3 minutes did not: something with a lifetime of
 * 3–5 minutes (an idle socket, a pool's cleanup, a cache's TTL) was suspected.
 *
 * Inject (time scale 60: 3 min → 3 s, 5 min → 5 s): the same overflow query, each run in
 * a new session, with a 3 s pause before run 2 and a 5 s pause before run 3; then a
 * follow-up in the first session. The 0 s case is KI-01-leftover-state. Loopback only:
 * the time-driven suspects (idle keep-alive sockets, their timeouts) exist only with real
 * sockets; in-process there is nothing for a pause to change.
 *
 * Expect: the family's checks (KI-01-support/back-to-back.ts): all succeed, runs 2
 * (after 3 s) and 3 (after 5 s) ≤ 1.5× run 1, nothing held after any run, each file
 * uploaded once, one store per session, the follow-up reuses its store.
 *
 * Proven against `store-create-lock-leak`: no pause gives back the lock run 1 kept; run 2
 * ends at its 6 s deadline (calls probe "run-2: ended success" fails).
 */
export default defineScenario({
  id: 'KI-01',
  name: 'gaps',
  title: 'Overflow queries 3 s and 5 s (scaled: 3 and 5 min) apart',
  timeScale: 60,
  modes: ['loopback'],
  timeoutMs: 45_000,
  server: { models: MODELS, env: { SECOND_BRAIN_MEMORY: 'false', ...UPLOAD_PER_FILE_ENV } },
  tree: TREE,
  steps: [
    ...overflowRun(1, 'ki01-gap'),
    { do: 'wait', ms: 3_000 },
    ...overflowRun(2, 'ki01-gap'),
    { do: 'wait', ms: 5_000 },
    ...overflowRun(3, 'ki01-gap'),
    overflowCall('follow-up', 'ki01-gap-1'),
    backToBackCheck({ runs: ['run-1', 'run-2', 'run-3'], followUp: 'follow-up', storesCreated: 3 }),
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs (up to 22 sockets, ~10 for the 2 tokenizer workers)',
    },
  },
  provenAgainst: { defect: 'store-create-lock-leak', note: 'no pause gives back the lock run 1 kept; run 2 hangs' },
});
