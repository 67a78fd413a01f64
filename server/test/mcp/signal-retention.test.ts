// Memory that never plateaus: a finished call must not leave its deadline timer and
// signals behind. With AbortSignal.timeout(300 s) every chat call pinned its signals for
// five minutes after the reply; and the openai SDK's composite of the call signal, with
// undici's abort listener on it, stayed alive as long as the server's lifetime signal.
// Either way RSS grew for the whole of a load test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { queryObjects } from 'node:v8';
import { startRig } from '../support/in-process.ts';
import { liveDeadlines } from '../../src/runtime/deadline.ts';
import { patience } from '@second-brain/harness';

const CALLS = 60;

/**
 * Live AbortSignals after full collections. Some listeners (undici's Request) are removed
 * by a FinalizationRegistry, which runs after a collection: collect, yield, repeat.
 */
async function liveSignals(): Promise<number> {
  let n = 0;
  for (let i = 0; i < 4; i++) {
    n = queryObjects(AbortSignal, { format: 'count' });
    await new Promise((r) => setImmediate(r));
  }
  return n;
}

test('a finished call leaves no deadline timer and no live composed signal behind (its own or the SDK\'s)', { timeout: patience(60_000) }, async () => {
  const rig = await startRig({ loopback: true });
  const composed: Array<WeakRef<AbortSignal>> = [];
  const any = AbortSignal.any;
  try {
    for (let i = 0; i < 3; i++) await rig.call('chat_with_gpt41', { instructions: `warm ${i}`, session_id: `w${i}` });
    // Every composite made during the calls (ours, the SDK's) is watched.
    AbortSignal.any = (signals: AbortSignal[]) => { const s = any.call(AbortSignal, signals); composed.push(new WeakRef(s)); return s; };
    for (let i = 0; i < CALLS; i++) await rig.call('chat_with_gpt41', { instructions: `question ${i}`, session_id: `r${i}` });
    AbortSignal.any = any;
    await liveSignals();
    const pinned = composed.filter((r) => { const s = r.deref(); return s !== undefined && !s.aborted; }).length;
    assert.equal(liveDeadlines(), 0, 'no call deadline is pending once the calls have ended');
    assert.ok(composed.length >= CALLS, `${composed.length} composites watched`);
    assert.ok(pinned < CALLS / 4, `${pinned} of ${composed.length} composed signals still alive after ${CALLS} calls`);
  } finally {
    AbortSignal.any = any;
    await rig.close();
  }
});
