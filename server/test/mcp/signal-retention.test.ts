// Memory that never plateaus: a finished call must not leave its deadline timer and
// signals behind. With AbortSignal.timeout(300 s) every chat call pinned its signals for
// five minutes after the reply, so RSS grew for the whole of a load test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { queryObjects } from 'node:v8';
import { startRig, textOf } from '../support/in-process.ts';
import { liveDeadlines } from '../../src/runtime/deadline.ts';

const CALLS = 60;

/**
 * Live AbortSignals after full collections. Some listeners (undici's Request) are removed
 * by a FinalizationRegistry, which runs after a collection: collect, yield, repeat.
 */
async function liveSignals(): Promise<number> {
  let n = 0;
  for (let i = 0; i < 4; i++) {
    n = queryObjects(AbortSignal, { format: 'count' }) as number;
    await new Promise((r) => setImmediate(r));
  }
  return n;
}

test('chat calls free their deadline timers and signals when they end', { timeout: 60_000 }, async () => {
  const rig = await startRig({ loopback: true });
  try {
    // Warm up (lazy clients, caches), then count live AbortSignals after a full GC.
    for (let i = 0; i < 5; i++) await rig.call('chat_with_gpt41', { instructions: `warm ${i}`, session_id: `w${i}` });
    const before = await liveSignals();
    for (let i = 0; i < CALLS; i++) {
      const r = await rig.call('chat_with_gpt41', { instructions: `question ${i}`, session_id: `s${i}` });
      assert.equal(r.isError, undefined, textOf(r));
    }
    assert.equal(liveDeadlines(), 0, 'no call deadline is pending once the calls have ended');
    const after = await liveSignals();
    // Each call creates several signals (request, deadline, composites); none may survive it.
    assert.ok(after - before < CALLS / 2, `${after - before} AbortSignals retained after ${CALLS} calls`);
  } finally {
    await rig.close();
  }
});
