import { defineScenario } from '../harness/src/runner/scenario.ts';
import { SERVER, TIME_SCALE, TREE, hungCleanupSteps } from './KI-02-support/hung-cleanup.ts';

/**
 * KI-02: a cancelled vector-store delete poisoned shared client state. The first version
 * wrapped the cleanup of the first query's store in a 5 s timeout; when the timeout
 * cancelled the delete, the SDK's semaphore stayed acquired and every later call through
 * the client hung.
 *
 * Inject: `DELETE /vector_stores/{id}` never answers, so each delete ends only when the
 * janitor's 2 s budget (scaled 5 s) cuts it off; queries keep coming meanwhile, one of
 * them with changed files (uploads and detaches). Then the fault is lifted.
 *
 * Expect (KI-02-support/hung-cleanup.ts): later queries are unaffected (they succeed,
 * ≤ 1.5× the same query before the fault, and are answered while the delete is still
 * open, so cleanup is off the request path); no call, session lock or upload slot is held
 * while the deletes hang; the timed-out deletes stay owed and the janitor deletes the
 * stores once the fault is gone.
 *
 * Proven against `delete-leaks-permit`: vector requests share one permit that a cut-off
 * delete keeps; the query in the third session waits for it and ends at its 6 s deadline
 * (calls probe "during: ended success" fails).
 */
export default defineScenario({
  id: 'KI-02',
  name: 'hung-delete',
  title: 'A store delete that never answers poisons nothing later calls need',
  timeScale: TIME_SCALE,
  modes: ['in-process', 'loopback'],
  timeoutMs: 40_000,
  server: SERVER,
  tree: TREE,
  fake: { faults: [{ route: 'vector_stores.delete', fault: { type: 'hang' } }] },
  steps: hungCleanupSteps(),
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs (up to 22 sockets, ~10 for the 2 tokenizer workers)',
    },
  },
  provenAgainst: { defect: 'delete-leaks-permit', note: 'a delete cut off by its deadline keeps the client permit, as the first version’s SDK semaphore did' },
});
