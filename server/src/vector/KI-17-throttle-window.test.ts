/**
 * KI-17: account-level throttling. The manager honours retry-after, sends almost
 * nothing during the window (no retry storm), reports "throttled, retrying in N s",
 * resumes right after the window, and a deadline that ends inside the window fails
 * with a clear "throttled until about T" error instead of hanging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SbError } from '../errors.ts';
import { SharedRateLimits } from '../state/rate-limits.ts';
import { VectorStoreManager } from './manager.ts';
import { FAST_LIMITS, manyFiles, startFake, tempState } from '../../test/support/vector-fixtures.ts';

test('KI-17: a throttle window is waited out: few requests inside it, first success right after it', { timeout: 20_000 }, async () => {
  const WINDOW_MS = 800;
  const f = startFake();
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki17', serverName: 'second-brain', limits: FAST_LIMITS });
    const window = f.fake.account.throttle({ durationMs: WINDOW_MS });
    const messages: string[] = [];
    const r = await m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 10), signal: AbortSignal.timeout(15_000), onProgress: (_d, _t, msg) => messages.push(msg) });
    assert.deepEqual(r.failed, []);
    assert.equal(r.uploaded, 10);
    const entries = f.fake.journal.entries();
    const inWindow = entries.filter((e) => e.startMs < window.endMs);
    assert.ok(inWindow.length <= 2, `${inWindow.length} requests during the window`);
    assert.ok(inWindow.every((e) => e.status === 429));
    const firstOk = entries.find((e) => e.status === 200)!;
    assert.ok(firstOk.startMs >= window.endMs, 'nothing succeeded inside the window');
    assert.ok(firstOk.startMs - window.endMs < 150, `first success ${Math.round(firstOk.startMs - window.endMs)} ms after the window`);
    assert.ok(messages.some((msg) => /^throttled, retrying in 1 s$/.test(msg)), messages.join(' | '));
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-17: a deadline inside the window fails with SB_ERR_RATE_LIMITED naming when to retry', { timeout: 10_000 }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki17b', serverName: 'second-brain', limits: FAST_LIMITS });
    f.fake.account.throttle({ durationMs: 30_000 });
    const started = performance.now();
    await assert.rejects(
      m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 3), signal: AbortSignal.timeout(300) }),
      (e: unknown) => {
        assert.ok(e instanceof SbError);
        assert.equal(e.code, ErrorCode.RATE_LIMITED);
        assert.match(e.message, /throttling this account until about \d\d:\d\d:\d\d UTC\. Try again in (29|30) s\./);
        assert.ok(e.retryAfterMs! > 25_000);
        return true;
      },
    );
    assert.ok(performance.now() - started < 600, 'ends at the deadline, not after the window');
    assert.equal(f.fake.journal.entries().length, 1, 'one request learned of the throttle; none after');
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-18: a throttle one process learned holds back another process on the same state dir', { timeout: 10_000 }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const otherDb = st.open();
    const a = new VectorStoreManager({ client: f.client('sk-aaaa'), db: st.db, instanceId: 'a', serverName: 'second-brain', limits: FAST_LIMITS, rateLimits: new SharedRateLimits(st.db) });
    const b = new VectorStoreManager({ client: f.client('sk-bbbb'), db: otherDb, instanceId: 'b', serverName: 'second-brain', limits: FAST_LIMITS, rateLimits: new SharedRateLimits(otherDb) });
    const window = f.fake.account.throttle({ durationMs: 500 });
    const first = a.attachFiles({ sessionId: 'a', files: manyFiles(st.dir, 2), signal: AbortSignal.timeout(5_000) });
    const seen = performance.now();
    while (b.stats().throttledUntil === null) {
      assert.ok(performance.now() - seen < 1_000, 'b learns of the throttle through the state dir');
      await new Promise((r) => setTimeout(r, 5));
    }
    await b.attachFiles({ sessionId: 'b', files: manyFiles(st.dir, 2, 'b'), signal: AbortSignal.timeout(5_000) });
    await first;
    const bRequests = f.fake.journal.entries().filter((e) => e.keyLast4 === 'bbbb');
    assert.ok(bRequests.length > 0);
    assert.deepEqual(bRequests.filter((e) => e.status === 429).map((e) => e.route), [], 'b never ran into the throttle itself');
    assert.ok(bRequests[0]!.startMs >= window.endMs - 5, 'b held back until the window ended');
  } finally {
    f.close();
    st.cleanup();
  }
});
