// KI-20 (the "responsive" rule): the start-up warm-up compiles the first call's path
// without sending anything to a provider, and never fails the start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRig } from '../../test/support/in-process.ts';
import { WARM_UP_TIMEOUT_MS, warmUp } from './warm-up.ts';
import { patience } from '@second-brain/harness';

test('warm-up runs every step against local stand-ins: no provider request, no error', { timeout: patience(30_000) }, async () => {
  // The janitor's first pass (5 s after start) would be a provider request of its own on
  // a slow machine; it is put an hour off, so the journal holds only what the warm-up sent.
  const rig = await startRig({ env: { SECOND_BRAIN_JANITOR: JSON.stringify({ startupDelayMs: 3_600_000 }) } });
  try {
    // The warm-up's own 2 s budget is a guard as well; on a busy machine it gets patience.
    const r = await warmUp(rig.app, AbortSignal.timeout(patience(WARM_UP_TIMEOUT_MS)));
    assert.deepEqual(r.steps.filter((s) => s.error), [], 'no step failed');
    assert.deepEqual(r.steps.map((s) => s.step).sort(), ['clients', 'http', 'schemas', 'state', 'tokenizer']);
    assert.deepEqual(rig.fake.journal.entries().map((e) => e.route), [], 'nothing reached the provider');
    assert.equal(rig.app.sessions.list().length, 0, 'nothing was written to the state');
  } finally {
    await rig.close();
  }
});

test('warm-up never throws: an aborted warm-up records its steps as failed and returns', { timeout: patience(30_000) }, async () => {
  const rig = await startRig();
  try {
    const r = await warmUp(rig.app, AbortSignal.abort());
    assert.ok(r.steps.some((s) => s.step === 'http' && s.error), 'the HTTP round trip saw the abort');
    assert.equal(rig.fake.journal.entries().length, 0);
  } finally {
    await rig.close();
  }
});
