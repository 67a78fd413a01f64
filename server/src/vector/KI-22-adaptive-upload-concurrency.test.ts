/**
 * KI-22 (and KI-17): upload concurrency adapts to the provider. It shrinks on 429,
 * honours retry-after, and grows back while uploads are healthy; the fake's journal
 * shows how many uploads were really open at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VectorStoreManager } from './manager.ts';
import type { VectorEvent } from './types.ts';
import { FAST_LIMITS, entriesOf, manyFiles, maxConcurrent, startFake, tempState } from '../../test/support/vector-fixtures.ts';

test('KI-22: concurrency halves on a 429 burst, waits out retry-after, then grows back', { timeout: 30_000 }, async () => {
  const RETRY_AFTER_MS = 150;
  const f = startFake({
    account: { uploadLatencyMs: 25 },
    faults: [
      // Calls 1–4 of the first wave are slow, so they are still open when calls 5–8 are throttled.
      { route: 'files.create', calls: { from: 1, to: 4 }, fault: { type: 'latency', ms: 100 } },
      { route: 'files.create', calls: { from: 5, to: 8 }, fault: { type: 'rate-limit', retryAfterMs: RETRY_AFTER_MS } },
    ],
  });
  const st = tempState();
  try {
    const events: VectorEvent[] = [];
    const m = new VectorStoreManager({
      client: f.client(), db: st.db, instanceId: 'ki22', serverName: 'second-brain',
      limits: { ...FAST_LIMITS, uploadConcurrencyStart: 8, uploadConcurrencyMin: 1, uploadConcurrencyMax: 16 },
      onEvent: (e) => events.push(e),
    });
    const messages: string[] = [];
    const r = await m.attachFiles({
      sessionId: 's', files: manyFiles(st.dir, 120), signal: AbortSignal.timeout(25_000),
      onProgress: (_d, _t, msg) => messages.push(msg),
    });
    assert.equal(r.failed.length, 0);
    assert.equal(r.uploaded, 120);

    const uploads = entriesOf(f.fake, 'files.create').sort((a, b) => a.startMs - b.startMs);
    const throttled = uploads.filter((e) => e.status === 429);
    assert.equal(throttled.length, 4);
    const firstWave = uploads.slice(0, 8);
    assert.equal(maxConcurrent(firstWave), 8, 'starts at the configured level');

    // retry-after honoured: nothing starts until the pause has passed.
    const pausedAt = Math.min(...throttled.map((e) => e.respondedMs!));
    const afterPause = uploads.filter((e) => e.startMs > pausedAt);
    assert.ok(afterPause[0]!.startMs - pausedAt >= RETRY_AFTER_MS - 5, `next upload ${Math.round(afterPause[0]!.startMs - pausedAt)} ms after the 429`);

    // Shrunk: right after the pause at most half the old level (plus the one step it may regrow) is open.
    const justAfter = afterPause.slice(0, 12);
    const shrunk = maxConcurrent(justAfter);
    assert.ok(shrunk <= 5, `after the 429 burst ${shrunk} uploads were open at once`);
    assert.ok(events.some((e) => e.type === 'concurrency_changed' && e.reason === 'rate_limited' && e.to === 4));

    // Grew back while healthy: the last uploads run wider than right after the burst.
    const tail = uploads.slice(-40);
    const regrown = maxConcurrent(tail);
    assert.ok(regrown >= 8, `tail concurrency ${regrown}`);
    assert.ok(regrown <= 16, 'never above the configured max');
    assert.ok(m.stats().uploadConcurrency > 4);
    assert.ok(messages.some((msg) => /^throttled, retrying in \d+ s$/.test(msg)), 'progress says it is throttled');
    assert.equal(r.stats.rateLimited, 4);
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-22: throughput under a request-rate limit stays near the allowed rate, without a retry storm', { timeout: 30_000 }, async () => {
  const RPS = 100;
  const FILES = 200;
  const f = startFake({ account: { uploadLatencyMs: 20, limits: { requestsPerSecond: RPS, burst: 10 } } });
  const st = tempState();
  try {
    const m = new VectorStoreManager({
      client: f.client(), db: st.db, instanceId: 'ki22-rate', serverName: 'second-brain',
      limits: { ...FAST_LIMITS, uploadConcurrencyStart: 4, uploadConcurrencyMax: 16, uploadMaxRateLimitRetries: 50 },
    });
    const files = manyFiles(st.dir, FILES);
    const started = performance.now();
    const r = await m.attachFiles({ sessionId: 's', files, signal: AbortSignal.timeout(25_000) });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(r.failed.length, 0);
    const uploads = entriesOf(f.fake, 'files.create');
    const ok = uploads.filter((e) => e.status === 200);
    const rejected = uploads.filter((e) => e.status === 429).length;
    const first = Math.min(...ok.map((e) => e.startMs));
    const last = Math.max(...ok.map((e) => e.endMs ?? e.respondedMs!));
    const uploadRate = ok.length / ((last - first) / 1000);
    // The burst of 10 lets the first uploads through faster than RPS; the bound is on the sustained rate.
    const allowed = RPS + 10 / ((last - first) / 1000);
    process.stderr.write(`# KI-22 throughput: ${uploadRate.toFixed(1)} uploads/s vs ${RPS}/s allowed (${(100 * uploadRate / RPS).toFixed(0)} %), ` +
      `${rejected} × 429 for ${FILES} files, ${seconds.toFixed(2)} s in all, final concurrency ${m.stats().uploadConcurrency}\n`);
    assert.ok(uploadRate >= 0.8 * RPS, `sustained ${uploadRate.toFixed(1)}/s, below 80 % of ${RPS}/s`);
    assert.ok(uploadRate <= allowed * 1.05, 'cannot beat the bucket');
    assert.ok(rejected <= FILES * 0.25, `${rejected} rejected requests for ${FILES} uploads is a retry storm`);
  } finally {
    f.close();
    st.cleanup();
  }
});
