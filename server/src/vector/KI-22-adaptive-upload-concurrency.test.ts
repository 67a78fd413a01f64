/**
 * KI-22 (and KI-17): upload concurrency adapts to the provider. It shrinks on 429,
 * honours retry-after, and grows back while uploads are healthy; the fake's journal
 * shows how many uploads were really open at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JUDGING_ATTEMPTS } from '../../../harness/src/reference/defaults.ts';
import { strictJudgingFromEnv } from '../../../harness/src/reference/settings.ts';
import { VectorStoreManager } from './manager.ts';
import type { VectorEvent } from './types.ts';
import { FAST_LIMITS, entriesOf, manyFiles, maxConcurrent, startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

test('KI-22: concurrency halves on a 429 burst, waits out retry-after, then grows back', { timeout: patience(30_000) }, async () => {
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
      sessionId: 's', files: manyFiles(st.dir, 120), signal: AbortSignal.timeout(patience(25_000)),
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

/**
 * What this machine lets the manager reach with no limit at all, measured beside the
 * limited run: the journal's times are wall-clock, and a loaded machine slows the whole
 * process (seen: 63/s under a load average of 7, 26/s with two busy loops beside it, with
 * no 429 at all, so the limit was not what held it back). Only when the machine could
 * upload faster than the allowed rate does a shortfall say something about the manager.
 */
async function uploadRate(files: number, account: NonNullable<Parameters<typeof startFake>[0]>['account'], limits: Partial<typeof FAST_LIMITS> = {}) {
  const f = startFake({ account });
  const st = tempState();
  try {
    const m = new VectorStoreManager({
      client: f.client(), db: st.db, instanceId: 'ki22-rate', serverName: 'second-brain',
      limits: { ...FAST_LIMITS, uploadConcurrencyStart: 4, uploadConcurrencyMax: 16, uploadMaxRateLimitRetries: 50, ...limits },
    });
    const started = performance.now();
    const r = await m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, files), signal: AbortSignal.timeout(patience(25_000)) });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(r.failed.length, 0);
    const uploads = entriesOf(f.fake, 'files.create');
    const ok = uploads.filter((e) => e.status === 200);
    const first = Math.min(...ok.map((e) => e.startMs));
    const last = Math.max(...ok.map((e) => e.endMs ?? e.respondedMs!));
    return { rate: ok.length / ((last - first) / 1000), spanS: (last - first) / 1000, rejected: uploads.filter((e) => e.status === 429).length, seconds, concurrency: m.stats().uploadConcurrency };
  } finally {
    f.close();
    st.cleanup();
  }
}

test('KI-22: throughput under a request-rate limit stays near the allowed rate, without a retry storm', { timeout: patience(120_000) }, async (t) => {
  const RPS = 100;
  const FILES = 200;
  const strict = strictJudgingFromEnv();
  const seen: string[] = [];
  for (let attempt = 1; attempt <= MAX_JUDGING_ATTEMPTS; attempt++) {
    const before = await uploadRate(FILES / 2, { uploadLatencyMs: 20 });
    const limited = await uploadRate(FILES, { uploadLatencyMs: 20, limits: { requestsPerSecond: RPS, burst: 10 } });
    const after = await uploadRate(FILES / 2, { uploadLatencyMs: 20 });
    const capacity = Math.min(before.rate, after.rate);
    // The burst of 10 lets the first uploads through faster than RPS; the bound is on the sustained rate.
    const allowed = RPS + 10 / limited.spanS;
    const line = `attempt ${attempt}: ${limited.rate.toFixed(1)} uploads/s vs ${RPS}/s allowed (${(100 * limited.rate / RPS).toFixed(0)} %), ` +
      `${limited.rejected} × 429 for ${FILES} files, ${limited.seconds.toFixed(2)} s in all, final concurrency ${limited.concurrency}; ` +
      `the machine's pace with no limit ${before.rate.toFixed(1)}/s before, ${after.rate.toFixed(1)}/s after`;
    process.stderr.write(`# KI-22 throughput ${line}\n`);
    seen.push(line);
    assert.ok(limited.rate <= allowed * 1.05, 'cannot beat the bucket');
    assert.ok(limited.rejected <= FILES * 0.25, `${limited.rejected} rejected requests for ${FILES} uploads is a retry storm`);
    if (limited.rate >= 0.8 * RPS) return;
    // Judged only when the machine, before and after, uploaded faster than the limit allows.
    assert.ok(capacity < RPS, `sustained ${limited.rate.toFixed(1)}/s, below 80 % of ${RPS}/s, although the machine uploaded at ${capacity.toFixed(1)}/s with no limit (${line})`);
  }
  const message = `not judged: machine too busy (it uploaded slower than the ${RPS}/s limit even with no limit, ${MAX_JUDGING_ATTEMPTS} times); ${seen.join('; ')}`;
  if (strict) assert.fail(`${message} and strict judging is on`);
  t.skip(message);
});
