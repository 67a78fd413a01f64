import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { CallStep } from '../harness/src/runner/scenario.ts';
import { MODELS, O3_DEADLINE_S, QUESTION, TREE, backToBackCheck, overflowCall, overflowRun } from './KI-01-support/back-to-back.ts';
import { UPLOAD_PER_FILE_ENV } from './KI-01-support/upload-per-file.ts';

/**
 * KI-01 with a query without files in between. In the seed log a complex o3 query with
 * no context, run between two file queries, "reset" the problem: the next file query
 * worked, and the one after it hung again. A correct server needs no reset.
 *
 * Inject: the same overflow query three times, each in a new session, with a no-context
 * o3 query (its own session) between each two; then a follow-up in the first session.
 *
 * Expect: the family's checks (KI-01-support/back-to-back.ts: all succeed, runs 2 and 3
 * ≤ 1.5× run 1, nothing held, each file uploaded once, one store per session, the
 * follow-up reuses its store); the no-context queries succeed and touch no vector store.
 *
 * Proven against `store-create-lock-leak`: the no-context query passes, run 2 still waits
 * for the creation lock run 1 kept and ends at its 6 s deadline (calls probe "run-2:
 * ended success" fails).
 */
const noContext = (n: number): CallStep => ({
  do: 'call', id: `no-context-${n}`, tool: 'chat_with_o3',
  args: { instructions: `${QUESTION} Answer from general knowledge.`, session_id: `ki01-bare-${n}`, disable_memory_search: true },
  timeoutMs: (O3_DEADLINE_S + 2) * 1_000,
  expect: { outcome: 'success' },
});

export default defineScenario({
  id: 'KI-01',
  name: 'no-context-between',
  title: 'Overflow queries with a no-context query between each two',
  modes: ['in-process', 'loopback'],
  timeoutMs: 40_000,
  server: { models: MODELS, env: { SECOND_BRAIN_MEMORY: 'false', ...UPLOAD_PER_FILE_ENV } },
  tree: TREE,
  steps: [
    ...overflowRun(1, 'ki01-between'),
    noContext(1),
    ...overflowRun(2, 'ki01-between'),
    noContext(2),
    ...overflowRun(3, 'ki01-between'),
    overflowCall('follow-up', 'ki01-between-1'),
    backToBackCheck({ runs: ['run-1', 'run-2', 'run-3'], followUp: 'follow-up', storesCreated: 3 }),
    {
      do: 'run',
      label: 'the no-context queries touched no vector store',
      run: async (ctx) => {
        const journal = await ctx.fake.journal();
        for (const id of ['no-context-1', 'no-context-2']) {
          const c = ctx.driver.calls.find((x) => x.id === id)!;
          const vs = journal.filter((e) => e.startWallMs >= c.startMs && c.endMs !== null && e.startWallMs <= c.endMs && (e.route.startsWith('vector_stores.') || e.route.startsWith('files.')));
          if (vs.length) throw new Error(`${id} sent ${vs.length} vector-store or file request(s)`);
        }
      },
    },
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs (up to 22 sockets, ~10 for the 2 tokenizer workers)',
    },
  },
  provenAgainst: { defect: 'store-create-lock-leak', note: 'a no-context query does not release the lock run 1 kept; run 2 still hangs' },
});
