// KI-03 / KI-05: a cancel reaches every upstream request, in every phase, for every provider;
// with no cancel the deadline ends the call with a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeLatency } from '../../../harness/src/reference/latency-test.ts';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

const PROVIDERS = [
  { tool: 'chat_with_gpt41', route: 'responses.create', model: 'gpt-4.1' },
  { tool: 'chat_with_grok4', route: 'chat.xai', model: 'grok-4' },
  { tool: 'chat_with_gemini25_flash', route: 'chat.gemini', model: 'gemini-2.5-flash' },
] as const;

for (const p of PROVIDERS) {
  for (const fault of [{ type: 'hang' }, { type: 'stall-after-headers' }] as const) {
    test(`${p.tool}: cancel during a ${fault.type} aborts the upstream request within 50 ms`, { timeout: patience(60_000) }, async (t) => {
      // The bound holds for the excess over a reference process measuring the machine in the same window.
      await judgeLatency(t, { label: `${p.tool} (${fault.type}) cancel → upstream aborted`, boundMs: 50, compareWith: 'own-loop' }, async () => {
      const rig = await startRig({ fake: { faults: [{ route: p.route, fault }] } });
      try {
        const ac = new AbortController();
        const pending = rig.call(p.tool, { instructions: 'hi', session_id: 'c1' }, { signal: ac.signal }).catch((e) => e);
        const req = await rig.fake.journal.waitFor((e) => e.route === p.route, patience(5_000));
        ac.abort();
        const cancelAt = performance.now();
        await pending;
        const aborted = await rig.fake.journal.waitFor((e) => e.id === req.id && e.aborted, patience(2_000));
        const latency = (aborted.abortedAtMs ?? Infinity) - cancelAt;
        assert.ok(aborted.aborted, 'upstream saw the abort');
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(rig.fake.journal.since(req.id).filter((e) => e.route === p.route).length, 0, 'no request after the cancel');
        assert.equal(rig.app.inflight.size, 0, 'nothing left in flight');
        // The server is alive.
        rig.fake.faults.clear();
        const ok = await rig.call(p.tool, { instructions: 'again', session_id: 'c2' });
        assert.equal(ok.isError, undefined, textOf(ok));
        return latency;
      } finally {
        await rig.close();
      }
      });
    });
  }

  test(`${p.tool}: with no cancel, the deadline ends a hang with a clear timeout error`, { timeout: patience(20_000) }, async () => {
    const rig = await startRig({ fake: { faults: [{ route: p.route, fault: { type: 'hang' } }] }, models: { [p.model]: { timeout_s: 1 } } });
    try {
      const t0 = Date.now();
      const r = await rig.call(p.tool, { instructions: 'hi', session_id: 'd1' });
      assert.equal(r.isError, true);
      assert.ok(Date.now() - t0 < 3_000, 'ended near its deadline');
      assert.match(textOf(r), /deadline|timed out|before the call deadline/i);
      assert.match(textOf(r), /SB_ERR_DEADLINE_EXCEEDED|SB_ERR_UPSTREAM_TIMEOUT/);
    } finally {
      await rig.close();
    }
  });
}

test('cancel during background polling cancels the response upstream and stops polling', { timeout: patience(20_000) }, async () => {
  const rig = await startRig({ fake: { faults: [{ route: 'responses.create', fault: { type: 'background', queuedMs: 60_000 } }] } });
  try {
    const ac = new AbortController();
    const pending = rig.call('chat_with_o3_pro', { instructions: 'long one', session_id: 'bg' }, { signal: ac.signal }).catch((e) => e);
    await rig.fake.journal.waitFor((e) => e.route === 'responses.retrieve', patience(10_000));
    ac.abort();
    await pending;
    const cancel = await rig.fake.journal.waitFor((e) => e.route === 'responses.cancel', patience(2_000));
    assert.ok(cancel, 'POST /responses/{id}/cancel sent');
    const last = rig.fake.journal.entries().at(-1)!.id;
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(rig.fake.journal.since(last).filter((e) => e.route === 'responses.retrieve').length, 0, 'polling stopped');
    const stored = [...rig.fake.state.responses.values()][0]!;
    assert.notEqual(stored.cancelledAtMs, null, 'the fake recorded the upstream cancel');
  } finally {
    await rig.close();
  }
});

test('cancel during a retry backoff sleep after a 429 ends at once with no further request', { timeout: patience(60_000) }, async (t) => {
  // Ends within 200 ms of the cancel, held for the excess over a reference process measuring the machine.
  await judgeLatency(t, { label: 'cancel in a 20 s retry-after wait → call ended', boundMs: 200, compareWith: 'own-loop' }, cancelInBackoff);
});

/** One attempt: the latency the bound is on, in ms. */
async function cancelInBackoff(): Promise<number> {
  const rig = await startRig({ fake: { faults: [{ route: 'chat.xai', fault: { type: 'rate-limit', retryAfterS: 20 } }] } });
  try {
    const ac = new AbortController();
    const pending = rig.call('chat_with_grok4', { instructions: 'hi', session_id: 'r' }, { signal: ac.signal }).catch((e) => e);
    const first = await rig.fake.journal.waitFor((e) => e.route === 'chat.xai' && e.status === 429, patience(5_000));
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    ac.abort();
    await pending;
    const took = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rig.fake.journal.since(first.id).length, 0, 'no request after the cancel');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rig.app.inflight.size, 0);
    return took;
  } finally {
    await rig.close();
  }
}

test('a cancel that arrives after the reply is harmless', { timeout: patience(20_000) }, async () => {
  const rig = await startRig();
  try {
    const ac = new AbortController();
    const r = await rig.call('chat_with_gpt41', { instructions: 'hi', session_id: 'late' }, { signal: ac.signal });
    ac.abort();
    assert.equal(r.isError, undefined);
    const again = await rig.call('chat_with_gpt41', { instructions: 'hi again', session_id: 'late' });
    assert.equal(again.isError, undefined, textOf(again));
  } finally {
    await rig.close();
  }
});
