// KI-17: 429 with retry-after is honoured and the call recovers; a retry-after past the
// deadline fails fast with a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeLatency } from '../../../harness/src/reference/latency-test.ts';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

test('429 with retry-after-ms: waits as told, reports "throttled, retrying", then succeeds', { timeout: patience(20_000) }, async () => {
  const rig = await startRig({ fake: { faults: [{ route: 'responses.create', calls: [1, 2], fault: { type: 'rate-limit', retryAfterMs: 400 } }] } });
  try {
    const progress: string[] = [];
    const r = await rig.call('chat_with_gpt41', { instructions: 'hi', session_id: 'rl' }, { onprogress: (p) => progress.push(p.message ?? '') });
    assert.equal(r.isError, undefined, textOf(r));
    const creates = rig.fake.journal.entries().filter((e) => e.route === 'responses.create');
    assert.equal(creates.length, 3);
    assert.ok(creates[1]!.startMs - creates[0]!.endMs! >= 380, 'waited the retry-after');
    assert.ok(progress.some((m) => /throttled by openai, retrying in \d+ s/.test(m)), progress.join('|'));
    const d = (await rig.call('server_diagnostics', {})).structuredContent as any;
    assert.equal(d.providers.openai.rate_limited, 2);
  } finally {
    await rig.close();
  }
});

/** "Fast": the bound on the call, held for the excess over a reference process measuring the machine in the same window (a hang would last the 10 s deadline). */
const MAX_FAST_FAIL_MS = 1_000;

test('retry-after beyond the deadline: a fast, clear error instead of a hang', { timeout: patience(60_000) }, async (t) => {
  await judgeLatency(t, { label: 'retry-after past the deadline → SB_ERR_RATE_LIMITED', boundMs: MAX_FAST_FAIL_MS, compareWith: 'own-loop' }, failFast);
});

/** One attempt: how long the call took to answer, in ms. */
async function failFast(): Promise<number> {
  const rig = await startRig({
    fake: { faults: [{ route: 'chat.gemini', fault: { type: 'rate-limit', retryAfterS: 120 } }] },
    models: { 'gemini-2.5-pro': { timeout_s: 10 } },
  });
  try {
    const t0 = performance.now();
    const r = await rig.call('chat_with_gemini25_pro', { instructions: 'hi', session_id: 'x' });
    const took = performance.now() - t0;
    assert.equal(r.isError, true);
    assert.match(textOf(r), /gemini is throttling this account \(rate limited\) until about \d\d:\d\d:\d\d UTC \(retry-after 120 s\)\. Try again in 1[12]\d s, or use start_job/);
    assert.equal((r.structuredContent as any).error.code, 'SB_ERR_RATE_LIMITED');
    assert.equal(rig.fake.journal.entries().length, 1, 'no retry storm');
    return took;
  } finally {
    await rig.close();
  }
}

test('one throttle gate per account: the chat calls and the vector-store work of OpenAI see the same throttle window', { timeout: patience(20_000) }, async () => {
  const rig = await startRig();
  try {
    const { gates, resilience, services } = rig.app;
    assert.equal(services.vectorStores?.stats().throttledUntil, null);
    // A 429 on a chat call closes the gate the vector-store manager sends behind.
    gates.openai.throttle(30_000);
    const vectorUntil = services.vectorStores?.stats().throttledUntil;
    assert.equal(typeof vectorUntil, 'string');
    assert.equal(resilience.openai.state().throttled_until, vectorUntil);
    // The other providers' accounts are not touched.
    assert.equal(resilience.xai.state().throttled_until, undefined);
  } finally {
    await rig.close();
  }
});
