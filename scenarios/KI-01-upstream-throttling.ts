import { defineScenario } from '../harness/src/runner/scenario.ts';
import { MODELS, TREE, backToBackCheck, callById, overflowCall, overflowRun } from './KI-01-support/back-to-back.ts';
import { UPLOAD_PER_FILE_ENV } from './KI-01-support/upload-per-file.ts';

/**
 * KI-01, candidate "throttling upstream". The seed log's last theory: the first query's
 * ~90 uploads used up the account's allowance, so the next query's requests were held
 * back or refused by OpenAI and looked like a hang (KI-17 is the long recovery window).
 *
 * Inject: an account limit of 12 requests/s with a burst of 60, so run 1 (~86 requests:
 * 78 uploads, store, batch, polls, the response) empties the bucket, and runs 2 and 3,
 * back to back in new sessions, meet 429s with `retry-after` on their first requests.
 * Right after run 1 the bucket is emptied outright (`account` step, `drain`): on a slow
 * or loaded machine run 1 takes long enough for the bucket to refill while it runs, and
 * run 2's handful of requests then met no 429 at all, so the scenario tested nothing.
 *
 * Expect: the family's checks (KI-01-support/back-to-back.ts: all succeed, runs 2 and 3
 * ≤ 1.5× run 1, nothing held, each file uploaded once, one store per session, the
 * follow-up reuses its store), by waiting out each `retry-after` instead of retrying at
 * once; and proof that the injection bit: runs after the first were answered 429.
 *
 * Proven against `ignore-retry-after`: the response request of run 2 retries at once,
 * six times into an empty bucket, and run 2 ends with "rate limited by openai … retries
 * exhausted" (calls probe "run-2: ended success" fails).
 */
const RPS = 12;
const BURST = 60;

export default defineScenario({
  id: 'KI-01',
  name: 'upstream-throttling',
  title: 'Back-to-back overflow queries after the first one emptied the account’s allowance',
  modes: ['in-process', 'loopback'],
  timeoutMs: 40_000,
  server: { models: MODELS, env: { SECOND_BRAIN_MEMORY: 'false', ...UPLOAD_PER_FILE_ENV } },
  tree: TREE,
  fake: { account: { limits: { requestsPerSecond: RPS, burst: BURST } } },
  steps: [
    ...overflowRun(1, 'ki01-throttle'),
    { do: 'account', drain: true },
    ...overflowRun(2, 'ki01-throttle'),
    ...overflowRun(3, 'ki01-throttle'),
    overflowCall('follow-up', 'ki01-throttle-1'),
    backToBackCheck({ runs: ['run-1', 'run-2', 'run-3'], followUp: 'follow-up', storesCreated: 3 }),
    {
      do: 'run',
      label: 'the runs after the first were throttled (429 with retry-after)',
      run: async (ctx) => {
        const run2 = callById(ctx, 'run-2');
        const journal = await ctx.fake.journal();
        const later = journal.filter((e) => e.startWallMs >= run2.startMs && e.status === 429);
        const all = journal.filter((e) => e.status === 429).length;
        ctx.driver.mark(`429s: ${all} in all, ${later.length} from run 2 on (${[...new Set(later.map((e) => e.route))].join(', ')})`, 'note');
        if (later.length === 0) throw new Error('no request of runs 2 and 3 was throttled: the injection did not bite');
      },
    },
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs (up to 22 sockets, ~10 for the 2 tokenizer workers)',
    },
  },
  provenAgainst: { defect: 'ignore-retry-after', note: 'retries go out at once instead of after retry-after' },
});
