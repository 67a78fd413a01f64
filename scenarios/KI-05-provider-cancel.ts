import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { CallStep, Step } from '../harness/src/runner/scenario.ts';

/**
 * KI-05: a Grok call hung after the store was created and aborting did nothing; the
 * OpenAI and Gemini adapters cancelled properly. Every provider must cancel the same
 * way: for a hang (the response never starts) and a stall (headers, then no body), the
 * client's cancel aborts the upstream request within 50 ms and nothing new starts; with
 * no cancel, each provider's own deadline ends the call with a clear timeout error.
 */

const PROVIDERS = [
  { tool: 'chat_with_grok4', route: 'chat.xai', model: 'grok-4' },
  { tool: 'chat_with_gemini25_flash', route: 'chat.gemini', model: 'gemini-2.5-flash' },
  { tool: 'chat_with_gpt41', route: 'responses.create', model: 'gpt-4.1' },
] as const;

/** Deadline every provider gets here (catalogue default is minutes; the mechanism is the same). */
const DEADLINE_S = 2;

const everywhere = (fault: { type: 'hang' } | { type: 'stall-after-headers' }) => PROVIDERS.map((p) => ({ route: p.route, fault }));

/** One cancelled call per provider, cancelled 100 ms after its upstream request started. */
const cancelEach = (kind: string): Step[] =>
  PROVIDERS.map(
    (p): CallStep => ({
      do: 'call',
      id: `${kind}-${p.model}`,
      tool: p.tool,
      session: `ki05-${kind}-${p.model}`,
      args: { instructions: 'What does this project do?', disable_memory_search: true },
      cancel: { when: { route: p.route }, delayMs: 100 },
      expect: { outcome: 'cancelled' },
    }),
  );

export default defineScenario({
  id: 'KI-05',
  name: 'provider-cancel',
  title: 'Cancellation and deadlines work the same for OpenAI, xAI and Gemini',
  modes: ['in-process', 'loopback'],
  timeoutMs: 15_000,
  server: {
    models: Object.fromEntries(PROVIDERS.map((p) => [p.model, { timeout_s: DEADLINE_S }])),
  },
  steps: [
    { do: 'faults', replace: everywhere({ type: 'hang' }) },
    ...cancelEach('hang'),
    { do: 'faults', replace: everywhere({ type: 'stall-after-headers' }) },
    ...cancelEach('stall'),
    { do: 'faults', replace: everywhere({ type: 'hang' }) },
    {
      // No cancel: each provider's deadline must end the call, at the same time for all three.
      do: 'parallel',
      steps: PROVIDERS.map(
        (p): CallStep => ({
          do: 'call',
          id: `deadline-${p.model}`,
          tool: p.tool,
          session: `ki05-deadline-${p.model}`,
          args: { instructions: 'What does this project do?', disable_memory_search: true },
          deadlineMs: DEADLINE_S * 1_000 + 1_000,
          expect: { outcome: 'error', textMatches: 'time|deadline', maxMs: DEADLINE_S * 1_000 + 1_000 },
        }),
      ),
    },
  ],
  assert: {
    cancellation: { maxLatencyMs: 50, maxRequestsAfter: 0 },
  },
  provenAgainst: { defect: 'xai-ignores-signal', note: 'the xAI adapter drops the abort signal, as the first version did' },
});
