import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { CallStep } from '../harness/src/runner/scenario.ts';
import type { StepContext } from '../harness/src/runner/step-context.ts';
import { requestsDuring } from './KI-20-support/upstream.ts';

/**
 * KI-15: a follow-up in the same session (with `previous_response_id`) hung right at the
 * start of the adapter call, before any request was sent. Follow-ups must carry the
 * previous response id, back to back and after a server restart; an id the provider no
 * longer knows (404) gives a fresh start with a note, not a hang; two follow-ups at once
 * in one session are serialised (the second chains from the first's answer).
 *
 * Loopback only: the provider's stored responses must outlive the server's restart (the
 * in-process fake dies with its server).
 *
 * Proven against:
 * - no-session-lock (the `provenAgainst` run): the two concurrent follow-ups overlapped
 *   upstream (the second started 3 ms after the first) and chained from the same response;
 * - session-lock-leak (the seed's hang: a follow-up stuck before any request is sent): the
 *   second follow-up ended only at its deadline, 4 003 ms (bound 1 500 ms), with
 *   SB_ERR_DEADLINE_EXCEEDED.
 */

/** Deadline of a gpt-4.1 call here: a follow-up that hangs ends with an error well inside the run. */
const DEADLINE_S = 4;
/** A follow-up answers in a few ms at the fake; one that takes a second is stuck. */
const FOLLOW_UP_MAX_MS = 1_500;
const NOTE_FRESH_START = 'fresh thread';

const followUp = (id: string, session: string, expectText?: string, textNotMatches?: string): CallStep => ({
  do: 'call', id, tool: 'chat_with_gpt41', session,
  args: { instructions: `Follow-up ${id}: and what about the error paths?`, disable_memory_search: true },
  deadlineMs: DEADLINE_S * 1_000 + 1_000,
  expect: {
    outcome: 'success', maxMs: FOLLOW_UP_MAX_MS,
    ...(expectText ? { textMatches: expectText } : {}),
    ...(textNotMatches ? { textNotMatches } : {}),
  },
});

/**
 * Each call of `ids` after the first sent the previous call's response id (the fake echoes
 * the `previous_response_id` it received in its answer). The harness's session-continuity
 * probe is not used: it would count the 404 fresh start as a follow-up that should have
 * carried an id.
 */
function expectChained(ids: string[]): (ctx: StepContext) => Promise<void> {
  return async (ctx) => {
    for (let i = 1; i < ids.length; i++) {
      const prev = ctx.driver.calls.find((c) => c.id === ids[i - 1]);
      const call = ctx.driver.calls.find((c) => c.id === ids[i]);
      const prevId = (prev?.structured as { response_id?: string } | undefined)?.response_id;
      const sent = /previous_response_id=([^\s.]+)/.exec(call?.text ?? '')?.[1];
      if (!prevId || sent !== prevId) throw new Error(`${ids[i]} sent previous_response_id=${sent ?? '?'}, but ${ids[i - 1]} answered ${prevId ?? '?'}.`);
    }
    ctx.driver.mark(`chained: ${ids.join(' → ')}`, 'note');
  };
}

/** The two concurrent follow-ups ran one after the other, the second chaining from the first's answer. */
async function expectSerialised(ctx: StepContext): Promise<void> {
  const [a, b] = await Promise.all(['both-1', 'both-2'].map(async (id) => ({
    id,
    call: ctx.driver.calls.find((c) => c.id === id)!,
    creates: await requestsDuring(ctx, id, 'responses.create'),
  })));
  // Journal times are whole milliseconds, so the time windows can also catch the opening
  // question's request, which ended the millisecond the follow-ups started; it is the only
  // one of the session without a previous_response_id.
  const all = [...new Map([...a!.creates, ...b!.creates].filter((e) => e.previousResponseId).map((e) => [e.id, e])).values()].sort((x, y) => x.startWallMs - y.startWallMs);
  if (all.length !== 2) throw new Error(`Expected two responses.create for the two follow-ups, saw ${all.length}.`);
  const [first, second] = all as [typeof all[0], typeof all[0]];
  if (first.endWallMs === null || second.startWallMs < first.endWallMs) {
    throw new Error(`The two follow-ups of one session overlapped upstream: the second started ${Math.round(second.startWallMs - first.startWallMs)} ms after the first, which ended ${first.endWallMs === null ? 'never' : `${Math.round(first.endWallMs - first.startWallMs)} ms after it started`}.`);
  }
  if (!first.previousResponseId || second.previousResponseId !== first.responseId) {
    throw new Error(`The second follow-up did not chain from the first: it sent previous_response_id=${second.previousResponseId ?? 'none'}, the first answered ${first.responseId ?? '?'}.`);
  }
  ctx.driver.mark(`concurrent follow-ups serialised: second started ${Math.round(second.startWallMs - first.endWallMs)} ms after the first ended`, 'note');
}

export default defineScenario({
  id: 'KI-15',
  name: 'follow-ups',
  title: 'Follow-ups chain, survive a restart, restart fresh on a 404 and are serialised',
  modes: ['loopback'],
  timeoutMs: 20_000,
  server: {
    env: { SECOND_BRAIN_MEMORY: 'false' },
    models: { 'gpt-4.1': { timeout_s: DEADLINE_S } },
  },
  steps: [
    // Back to back: a first question and two follow-ups with no pause.
    followUp('first', 'ki15-chain', 'previous_response_id=none'),
    followUp('again-1', 'ki15-chain', undefined, 'previous_response_id=none'),
    followUp('again-2', 'ki15-chain', undefined, 'previous_response_id=none'),

    // After a SIGKILL and restart, the stored chain goes on.
    { do: 'restart' },
    followUp('after-restart', 'ki15-chain', undefined, 'previous_response_id=none'),

    // The provider forgot the previous response: a fresh start, with a note, at once.
    { do: 'faults', replace: [{ route: 'responses.create', times: 1, fault: { type: 'previous-not-found' } }] },
    followUp('forgotten', 'ki15-chain', `previous_response_id=none[^]*note: .*${NOTE_FRESH_START}`),
    { do: 'faults', clear: true },
    followUp('after-forgotten', 'ki15-chain', undefined, 'previous_response_id=none'),
    { do: 'run', label: 'every follow-up chained from the answer before it', run: expectChained(['first', 'again-1', 'again-2', 'after-restart']) },
    { do: 'run', label: 'the chain goes on from the fresh start', run: expectChained(['forgotten', 'after-forgotten']) },

    // Two follow-ups in one session at the same time, each taking 300 ms upstream.
    followUp('both-0', 'ki15-both', 'previous_response_id=none'),
    { do: 'faults', replace: [{ route: 'responses.create', fault: { type: 'latency', ms: 300 } }] },
    {
      do: 'parallel',
      steps: [
        { ...followUp('both-1', 'ki15-both', undefined, 'previous_response_id=none'), expect: { outcome: 'success', maxMs: FOLLOW_UP_MAX_MS } },
        { ...followUp('both-2', 'ki15-both', undefined, 'previous_response_id=none'), expect: { outcome: 'success', maxMs: FOLLOW_UP_MAX_MS } },
      ],
    },
    { do: 'faults', clear: true },
    { do: 'run', label: 'the concurrent follow-ups were serialised', run: expectSerialised },
  ],
  provenAgainst: { defect: 'no-session-lock', note: 'concurrent follow-ups overlap upstream and chain from the same response' },
});
