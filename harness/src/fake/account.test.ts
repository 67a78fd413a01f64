import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { AccountModel, applyAccountChange, formatResetDuration, rateLimitHeaders } from './account.ts';
import { createManualClock } from './clock.ts';
import { sdk, stopFakeServer, useFake } from './test-helpers.ts';
import { patience } from '../reference/patience.ts';

after(stopFakeServer);

describe('account model arithmetic (injected clock)', () => {
  test('token bucket: burst, then 429 with the exact wait; refill at the configured rate', { timeout: patience(2_000) }, () => {
    const clock = createManualClock();
    const account = new AccountModel(clock, { limits: { requestsPerSecond: 2, burst: 3 } });
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = account.admit('k1', 0, false);
      assert.ok(r.ok);
      remaining.push(r.state.remainingRequests);
    }
    assert.deepEqual(remaining, [2, 1, 0]);
    const denied = account.admit('k1', 0, false);
    assert.ok(!denied.ok);
    assert.equal(denied.reason, 'requests');
    assert.equal(denied.retryAfterMs, 500);
    // A rejected request consumes nothing, and another key has its own bucket.
    assert.ok(account.admit('k2', 0, false).ok);
    clock.advance(499);
    assert.ok(!account.admit('k1', 0, false).ok);
    clock.advance(1);
    assert.ok(account.admit('k1', 0, false).ok);
    clock.advance(10_000);
    assert.equal(account.peek('k1').remainingRequests, 3, 'capped at burst');
  });

  test('drain empties every bucket seen, whatever it held; it refills at the configured rate from then', { timeout: patience(2_000) }, () => {
    const clock = createManualClock();
    const account = new AccountModel(clock, { limits: { requestsPerSecond: 10, burst: 60 } });
    assert.ok(account.admit('k1', 0, false).ok);
    clock.advance(5_000);
    assert.equal(account.peek('k1').remainingRequests, 60, 'full again before the drain');
    applyAccountChange(account, { drain: true });
    const denied = account.admit('k1', 0, false);
    assert.ok(!denied.ok, 'the first request after a drain is refused');
    assert.equal(denied.retryAfterMs, 100);
    clock.advance(100);
    assert.ok(account.admit('k1', 0, false).ok);
    assert.ok(!account.admit('k1', 0, false).ok);
  });

  test('reset headers count down to full', { timeout: patience(2_000) }, () => {
    const clock = createManualClock();
    const account = new AccountModel(clock, { limits: { requestsPerSecond: 1, burst: 60 } });
    const r = account.admit('k', 0, false);
    assert.ok(r.ok);
    const h = rateLimitHeaders(r.state);
    assert.equal(h['x-ratelimit-limit-requests'], '60');
    assert.equal(h['x-ratelimit-remaining-requests'], '59');
    assert.equal(h['x-ratelimit-reset-requests'], '1s');
    for (let i = 0; i < 59; i++) account.admit('k', 0, false);
    assert.equal(rateLimitHeaders(account.peek('k'))['x-ratelimit-reset-requests'], '1m0s');
    assert.equal(formatResetDuration(20), '20ms');
    assert.equal(formatResetDuration(1_500), '1.5s');
    assert.equal(formatResetDuration(360_000), '6m0s');
  });

  test('tokens per minute: a large request waits for the token bucket', { timeout: patience(2_000) }, () => {
    const clock = createManualClock();
    const account = new AccountModel(clock, { limits: { tokensPerMinute: 6_000 } });
    assert.ok(account.admit('k', 5_000, false).ok);
    const denied = account.admit('k', 2_000, false);
    assert.ok(!denied.ok);
    assert.equal(denied.reason, 'tokens');
    assert.equal(denied.retryAfterMs, 10_000);
    clock.advance(10_000);
    assert.ok(account.admit('k', 2_000, false).ok);
  });

  test('limit changed mid-run applies from that moment (KI-22)', { timeout: patience(2_000) }, () => {
    const clock = createManualClock();
    const account = new AccountModel(clock, { limits: { requestsPerSecond: 10, burst: 10 } });
    for (let i = 0; i < 5; i++) account.admit('k', 0, false);
    account.setLimits({ requestsPerSecond: 1, burst: 2 });
    assert.equal(account.peek('k').remainingRequests, 2, 'clamped to the new capacity');
    account.admit('k', 0, false);
    account.admit('k', 0, false);
    const denied = account.admit('k', 0, false);
    assert.ok(!denied.ok);
    assert.equal(denied.retryAfterMs, 1_000);
    assert.throws(() => account.setLimits({ burst: 0 }), /account\.limits\.burst/);
  });

  test('throttle window rejects everything until its end, then recovers (KI-17)', { timeout: patience(2_000) }, () => {
    const clock = createManualClock();
    const account = new AccountModel(clock, { throttle: [{ startMs: 1_000, durationMs: 180_000 }] });
    assert.ok(account.admit('k', 0, false).ok);
    clock.advance(1_000);
    const first = account.admit('k', 0, false);
    assert.ok(!first.ok);
    assert.equal(first.reason, 'throttle-window');
    assert.equal(first.retryAfterMs, 180_000);
    assert.equal(first.state.remainingRequests, 0);
    clock.advance(179_999);
    const last = account.admit('k', 0, false);
    assert.ok(!last.ok && last.retryAfterMs === 1);
    clock.advance(1);
    assert.ok(account.admit('k', 0, false).ok, 'first success exactly at the window end');
  });

  test('degrade window multiplies upload latency only', { timeout: patience(2_000) }, () => {
    const clock = createManualClock();
    const account = new AccountModel(clock, { uploadLatencyMs: 100 });
    account.throttle({ durationMs: 5_000, mode: 'degrade', multiplier: 6.5 });
    const upload = account.admit('k', 0, true);
    const other = account.admit('k', 0, false);
    assert.ok(upload.ok && other.ok);
    assert.equal(upload.degradeMultiplier, 6.5);
    assert.equal(other.degradeMultiplier, 1);
    clock.advance(5_000);
    const after = account.admit('k', 0, true);
    assert.ok(after.ok && after.degradeMultiplier === 1);
  });
});

describe('account model through the SDK', () => {
  test('past the bucket: 429 with retry-after, retry-after-ms and counting-down headers; shared by key', { timeout: patience(5_000) }, async () => {
    const clock = createManualClock();
    const fake = useFake({ clock, account: { limits: { requestsPerSecond: 1, burst: 2 } } });
    const a = sdk(fake, 'openai', 'sk-shared-1111');
    const b = sdk(fake, 'openai', 'sk-shared-1111');
    const other = sdk(fake, 'openai', 'sk-other-2222');
    const first = await a.files.list().withResponse();
    assert.equal(first.response.headers.get('x-ratelimit-remaining-requests'), '1');
    const second = await b.files.list().withResponse();
    assert.equal(second.response.headers.get('x-ratelimit-remaining-requests'), '0');
    const error = await a.files.list().catch((e) => e);
    assert.ok(error instanceof OpenAI.RateLimitError);
    assert.equal(error.headers.get('retry-after'), '1');
    assert.equal(error.headers.get('retry-after-ms'), '1000');
    assert.equal(error.code, 'rate_limit_exceeded');
    assert.ok(await other.files.list(), 'another key is not limited');
    clock.advance(1_000);
    assert.ok(await a.files.list());
    const throttled = fake.journal.entries().filter((e) => e.throttled);
    assert.deepEqual(throttled.map((e) => [e.keyLast4, e.throttled]), [['1111', 'requests']]);
  });

  test('a throttle window opened mid-run 429s until it ends', { timeout: patience(5_000) }, async () => {
    const clock = createManualClock();
    const fake = useFake({ clock });
    const client = sdk(fake);
    fake.account.throttle({ durationMs: 240_000 });
    const error = await client.vectorStores.list().catch((e) => e);
    assert.ok(error instanceof OpenAI.RateLimitError);
    assert.equal(error.headers.get('retry-after'), '240');
    clock.advance(240_000);
    assert.ok(await client.vectorStores.list());
  });
});
