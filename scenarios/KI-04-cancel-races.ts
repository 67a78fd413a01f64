import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { CallStep, Step } from '../harness/src/runner/scenario.ts';
import { createPrng } from '../harness/src/fake/prng.ts';

/**
 * KI-04: after one change, aborting a query killed the whole server. In Node the same
 * happens through an unhandled rejection, an error thrown after the request was already
 * answered, or a cancel that races the reply. Fifty calls are cancelled at moments
 * spread before, at and after their reply; then requests that already finished are
 * cancelled too (a `notifications/cancelled` naming an answered request id). The process
 * never exits, every later call works, and nothing about "already answered" reaches the
 * client. The fake answers in 5–40 ms; in the runs, 19–27 of the 50 calls ended cancelled
 * and the rest answered before their cancel fired.
 *
 * Proven against `throw-after-cancel,no-rejection-guard` (a cancelled call leaves a
 * rejected promise behind and no process-level handler catches it): the server exited in
 * the first round (alive: unexpected server exits = 1, bound 0; the later calls and the
 * alive check could not be made). Either switch alone passes: the server makes no such
 * rejection, and the guard catches one if it did.
 */

const ROUNDS = 10;
const PER_ROUND = 5;
/** Upstream answers after 5–40 ms, so the cancel moments below fall before, on and after the reply. */
const LATENCY = { type: 'latency', distribution: { kind: 'uniform', minMs: 5, maxMs: 40 } } as const;
/** What must never reach the client: the server tripping over its own answered request. */
const ALREADY_ANSWERED = 'already (answered|responded|sent)|headers (were )?already sent|ERR_HTTP_HEADERS_SENT|unhandled';

/** Seeded: the same 50 cancel moments on every run. */
const rng = createPrng(4);
const random = () => rng.next();

/**
 * One call of the fifty. Every third is cancelled the moment the fake has answered (the
 * server is then turning the answer into its reply); the others after a random 0–60 ms,
 * which lands before the reply, during it, or after it (then the cancel is a no-op).
 */
function racingCall(round: number, i: number): CallStep {
  const n = round * PER_ROUND + i;
  const cancel = n % 3 === 0
    ? { when: { route: 'responses.create', event: 'answered' as const }, delayMs: Math.floor(random() * 3) }
    : { afterMs: Math.floor(random() * 60) };
  return {
    do: 'call', id: `race-${n}`, tool: 'chat_with_gpt41', session: `ki04-${n}`,
    args: { instructions: `Question ${n}: what does this project do?`, disable_memory_search: true },
    timeoutMs: 10_000,
    cancel,
    expect: { textNotMatches: ALREADY_ANSWERED },
  };
}

const rounds: Step[] = Array.from({ length: ROUNDS }, (_, round) => ({
  do: 'parallel',
  steps: Array.from({ length: PER_ROUND }, (_, i) => racingCall(round, i)),
}));

export default defineScenario({
  id: 'KI-04',
  name: 'cancel-races',
  title: 'Cancels before, at and after the reply never take the server down',
  modes: ['in-process', 'loopback'],
  timeoutMs: 20_000,
  server: { env: { SECOND_BRAIN_MEMORY: 'false' } },
  steps: [
    { do: 'faults', replace: [{ route: 'responses.create', fault: LATENCY }] },
    ...rounds,
    {
      // Cancel requests that were answered long ago: every request id this client has used.
      do: 'run',
      label: 'cancel every request that already finished',
      run: async (ctx) => {
        const client = ctx.driver.server.client;
        const lastId = (client as unknown as { _requestMessageId: number })._requestMessageId;
        for (let id = 0; id < lastId; id++) {
          await client.notification({ method: 'notifications/cancelled', params: { requestId: id, reason: 'late cancel of a finished request' } });
        }
        ctx.driver.mark(`sent notifications/cancelled for request ids 0..${lastId - 1}`, 'cancel');
      },
    },
    { do: 'faults', clear: true },
    // Every later call works.
    {
      do: 'parallel',
      steps: Array.from({ length: PER_ROUND }, (_, i): CallStep => ({
        do: 'call', id: `after-${i}`, tool: i % 2 ? 'chat_with_grok4' : 'chat_with_gpt41', session: `ki04-after-${i}`,
        args: { instructions: 'Still there?', disable_memory_search: true },
        expect: { outcome: 'success', textNotMatches: ALREADY_ANSWERED },
      })),
    },
  ],
  provenAgainst: {
    defect: ['throw-after-cancel', 'no-rejection-guard'],
    note: 'a cancelled call leaves a rejected promise behind and nothing catches it, so the process exits',
  },
});
