/**
 * KI-01: the second back-to-back overflow query hung. Here: the same overflow three
 * times with no pause, and a cancelled call followed at once by another. Nothing
 * carries over except deliberate reuse: no held slot, claim or lease slows the next call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SbError } from '../errors.ts';
import { VectorStoreManager } from './manager.ts';
import { FAST_LIMITS, entriesOf, manyFiles, startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

test('KI-01: three back-to-back calls with 90 files: later calls are no slower and upload nothing twice', { timeout: patience(30_000) }, async () => {
  const f = startFake({ account: { uploadLatencyMs: 10 } });
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki01', serverName: 'second-brain', limits: FAST_LIMITS });
    const files = manyFiles(st.dir, 90);
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const r = await m.attachFiles({ sessionId: 's', files, signal: AbortSignal.timeout(patience(20_000)) });
      ms.push(performance.now() - t0);
      assert.equal(r.attached.length, 90);
    }
    assert.ok(ms[1]! <= ms[0]! * 1.5 && ms[2]! <= ms[0]! * 1.5, `durations ${ms.map((x) => Math.round(x)).join(', ')} ms`);
    assert.equal(entriesOf(f.fake, 'files.create').length, 90);
    const s = m.stats();
    assert.equal(s.uploadsInFlight, 0);
    assert.equal(s.pendingDeletes, 0);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-01: a call cancelled mid-upload leaves nothing that slows the next call on the same files', { timeout: patience(30_000) }, async () => {
  const f = startFake({ account: { uploadLatencyMs: 100 } });
  const st = tempState();
  try {
    // A long lease: if the cancelled call kept its claims, the next call would wait for them to lapse.
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki01b', serverName: 'second-brain', limits: { ...FAST_LIMITS, uploadLeaseMs: 60_000 } });
    const files = manyFiles(st.dir, 20);
    const ac = new AbortController();
    const first = m.attachFiles({ sessionId: 's', files, signal: ac.signal });
    await f.fake.journal.waitFor((e) => e.route === 'files.create' && e.routeCall === 2, patience(5_000));
    ac.abort();
    await assert.rejects(first, (e: unknown) => e instanceof SbError && e.code === ErrorCode.CANCELLED);
    const t0 = performance.now();
    const second = await m.attachFiles({ sessionId: 's', files, signal: AbortSignal.timeout(patience(10_000)) });
    const took = performance.now() - t0;
    assert.equal(second.attached.length, 20);
    assert.equal(second.stats.waitedForOthers, 0, 'no stale claim to wait for');
    assert.ok(took < 5_000, `the next call took ${Math.round(took)} ms`);
    assert.equal(m.stats().uploadsInFlight, 0);
  } finally {
    f.close();
    st.cleanup();
  }
});
