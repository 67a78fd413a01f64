import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { CallStep } from '../harness/src/runner/scenario.ts';
import type { StepContext } from '../harness/src/runner/step-context.ts';
import { expectNoProgressAfterReply, tolerateLateProgress } from './KI-20-support/protocol.ts';

/**
 * KI-17: the account was throttled. Uploads took 6–7× longer, the same upload took 15 s or
 * 123 s, recovery took 3–5 minutes, and slow calls were mistaken for hangs because tool
 * timeouts fired first.
 *
 * The fake's account model: one token bucket per key, 429 with `retry-after`,
 * `retry-after-ms` and `x-ratelimit-*` past it; a throttle window that rejects everything;
 * a degraded window that makes uploads 6.5× slower. Time scale 100: the recovery window
 * of 180–300 s is 240 s → 2.4 s.
 *
 * Expect: retry-after honoured (no request before it elapses, so at most one request per
 * call inside the window); progress saying "throttled …, retrying in N s"; the first
 * success within one backoff step (500 ms) of the window's end; a call whose deadline ends
 * inside the window fails at once with "throttled … until about T"; degraded uploads
 * finish with progress all along.
 *
 * Proven against ignore-retry-after: retries went out at once, the circuit opened, and
 * five calls never ended (client timeout at 10 s; the steps overran the 20 s hard timeout).
 */

const TIME_SCALE = 100;
const WINDOW_MS = 2_400;
/** One backoff step: the retry policy's base delay. */
const BACKOFF_STEP_MS = 500;
const CALLS_IN_WINDOW = 3;
/** o3 gets a deadline shorter than the window (its calls then run in the foreground). */
const SHORT_DEADLINE_S = 1;
const THROTTLED_PROGRESS = /throttl[^]*retrying in \d+ s/i;
const ask = { instructions: 'Summarise the project in one line.', disable_memory_search: true };

const call = (id: string, tool: string, expect: CallStep['expect'], extra: Partial<CallStep> = {}): CallStep => ({
  do: 'call', id, tool, session: `ki17-${id}`, args: ask, background: true, timeoutMs: 10_000, expect, ...extra,
});

/** Progress of the calls that waited out the window said why and for how long. */
function expectThrottledProgress(ids: string[]): (ctx: StepContext) => Promise<void> {
  return async (ctx) => {
    for (const id of ids) {
      const c = ctx.driver.calls.find((x) => x.id === id);
      const said = c?.progress.find((p) => THROTTLED_PROGRESS.test(p.message ?? ''));
      if (!said) throw new Error(`${id}: no progress message said "throttled, retrying in N s" (saw: ${c?.progress.map((p) => p.message).slice(0, 3).join(' | ') || 'none'}).`);
    }
  };
}

/**
 * The token bucket: no storm. Every 429 carries the exact time to the next token; a
 * server that waits it out sends few extra requests (a few calls released at the same
 * moment may meet an empty bucket again), one that ignores it burns its retries within
 * milliseconds. Bound: 3 requests per call in all.
 */
async function expectNoStorm(ctx: StepContext): Promise<void> {
  const creates = (await ctx.fake.journal()).filter((e) => e.route === 'responses.create');
  const rejected = creates.filter((e) => e.status === 429).length;
  if (rejected === 0) throw new Error('The bucket never answered 429: the case proves nothing.');
  if (creates.length > BUCKET_MAX_REQUESTS) throw new Error(`${creates.length} requests for ${BUCKET_CALLS} calls: a retry storm (bound ${BUCKET_MAX_REQUESTS}).`);
  ctx.driver.mark(`bucket: ${creates.length} requests for ${BUCKET_CALLS} calls (bound ${BUCKET_MAX_REQUESTS}), ${rejected} answered 429`, 'note');
}

/** Bucket: 5 requests per second, 5 at once; 8 calls at the same moment. */
const BUCKET = { requestsPerSecond: 5, burst: 5 };
const BUCKET_CALLS = 8;
const BUCKET_MAX_REQUESTS = 3 * BUCKET_CALLS;

export default defineScenario({
  id: 'KI-17',
  name: 'account-throttle',
  title: 'A throttled account: retry-after honoured, no storm, clear errors, prompt recovery',
  timeScale: TIME_SCALE,
  modes: ['in-process', 'loopback'],
  timeoutMs: 20_000,
  fake: { account: { uploadLatencyMs: 40 } },
  server: {
    env: { SECOND_BRAIN_MEMORY: 'false', SECOND_BRAIN_TIME_SCALE: String(1 / TIME_SCALE) },
    models: { o3: { timeout_s: SHORT_DEADLINE_S }, 'gpt-4.1': { context_window: 9_000 } },
  },
  tree: { files: 10, sizeBytes: 2_048, depth: 0 },
  steps: [
    { do: 'run', label: 'tolerate progress that crosses a reply on the wire', run: async (ctx) => tolerateLateProgress(ctx) },

    // 1. The token bucket: more calls at once than the bucket holds; all succeed, none retries early.
    { do: 'account', limits: BUCKET },
    {
      do: 'parallel',
      steps: Array.from({ length: BUCKET_CALLS }, (_, i): CallStep => ({
        do: 'call', id: `bucket-${i}`, tool: 'chat_with_gpt41', session: `ki17-bucket-${i}`, args: ask, timeoutMs: 10_000,
        expect: { outcome: 'success', maxMs: 3_000 },
      })),
    },
    { do: 'run', label: 'no retry storm against the bucket', run: expectNoStorm },
    { do: 'account', reset: true, limits: { requestsPerSecond: 1_000, burst: 10_000 } },

    // 2. The recovery window: everything is rejected for 240 s (2.4 s scaled).
    { do: 'account', throttle: { durationMs: WINDOW_MS, mode: 'reject' } },
    call('window-a', 'chat_with_gpt41', { outcome: 'success', maxMs: WINDOW_MS + BACKOFF_STEP_MS + 500 }),
    call('window-b', 'chat_with_gpt41', { outcome: 'success', maxMs: WINDOW_MS + BACKOFF_STEP_MS + 500 }),
    // Its deadline (1 s) ends inside the window: a fast, clear error, not a hang.
    call('window-short', 'chat_with_o3', { outcome: 'error', textMatches: 'throttl[^]*until about \\d\\d:\\d\\d:\\d\\d', maxMs: SHORT_DEADLINE_S * 1_000 }),
    { do: 'await', call: 'window-a' },
    { do: 'await', call: 'window-b' },
    { do: 'await', call: 'window-short' },
    { do: 'run', label: 'the waiting calls said "throttled, retrying in N s"', run: expectThrottledProgress(['window-a', 'window-b']) },

    // 3. A degraded account (opened from a run step, so the recovery probe judges only the
    // reject window): uploads 6.5× slower; the overflow call still ends, with progress.
    {
      do: 'run',
      label: 'degrade uploads 6.5× for 2 s',
      run: async (ctx) => { await ctx.fake.account({ throttle: { durationMs: 2_000, mode: 'degrade', multiplier: 6.5 } }); },
    },
    {
      do: 'call', id: 'degraded-upload', tool: 'chat_with_gpt41', session: 'ki17-degraded',
      args: { ...ask, context: ['$PROJECT'] },
      timeoutMs: 1_000, resetTimeoutOnProgress: true, maxTotalTimeoutMs: 10_000, deadlineMs: 10_000,
      expect: { outcome: 'success', maxProgressGapMs: 500 },
    },
    { do: 'run', label: 'no progress after a reply', run: async (ctx) => expectNoProgressAfterReply(ctx) },
  ],
  assert: {
    recovery: {
      maxRecoveryMs: BACKOFF_STEP_MS,
      maxRequestsInWindow: CALLS_IN_WINDOW,
      errorMatches: 'throttl[^]*until about \\d\\d:\\d\\d:\\d\\d',
    },
  },
  provenAgainst: { defect: 'ignore-retry-after', note: 'retries go out at once: a retry storm inside the window' },
});
