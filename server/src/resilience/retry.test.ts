import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { APIConnectionError, BadRequestError, InternalServerError, NotFoundError, RateLimitError } from 'openai';
import { backoffMs, decideRetry, retryUpstream, type RetryBudget, type RetryContext } from './retry.ts';
import { classifyFailure } from './classify.ts';
import { ThrottleGate } from './throttle-gate.ts';
import { ProviderResilience } from './policy.ts';
import { withRetry } from '../vector/upstream.ts';
import { ErrorCode, isSbError } from '../errors.ts';
import { patience } from '@second-brain/harness';

function rateLimit(headers: Record<string, string> = {}, body: Record<string, unknown> = {}) {
  return new RateLimitError(429, { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded', ...body }, undefined, new Headers(headers));
}
const serverError = (headers: Record<string, string> = {}) => new InternalServerError(503, { message: 'overloaded' }, undefined, new Headers(headers));
const reset = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

/** The chat providers' budget: 429s count as failures, no floor. */
const CHAT: RetryBudget = { attempts: 7, baseDelayMs: 500, maxDelayMs: 30_000, random: () => 0.5 };
/** The vector-store budget: 429s on their own bound, at least 1 s behind the gate. */
const VECTOR: RetryBudget = { attempts: 3, rateLimitRetries: 8, rateLimitFloorMs: 1_000, baseDelayMs: 500, maxDelayMs: 30_000, random: () => 0.5 };
const NOW = 1_800_000_000_000;
const ctx = (over: Partial<RetryContext> = {}): RetryContext => ({ failures: 0, throttles: 0, now: NOW, deadline: NOW + 600_000, ...over });
const decide = (err: unknown, over: Partial<RetryContext> = {}, budget = CHAT) => decideRetry(classifyFailure(err), ctx(over), budget);

test('decideRetry: a 429 waits what the provider said (retry-after, retry-after-ms, Gemini RetryInfo) and closes the gate for it', () => {
  assert.deepEqual(decide(rateLimit({ 'retry-after': '120' })), { retry: true, delayMs: 120_000, retryAfterMs: 120_000, throttleMs: 120_000 });
  assert.deepEqual(decide(rateLimit({ 'retry-after-ms': '250.5', 'retry-after': '9' })), { retry: true, delayMs: 251, retryAfterMs: 251, throttleMs: 251 });
  const gemini = rateLimit({}, { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '22s' }] });
  assert.deepEqual(decide(gemini), { retry: true, delayMs: 22_000, retryAfterMs: 22_000, throttleMs: 22_000 });
});

test('decideRetry: a 429 that names no wait backs off; with a floor it waits at least the floor and closes the gate for that long', () => {
  // Chat budget: full jitter, 0.5 × min(30 s, 500 ms × 2^2), nothing for the gate.
  assert.deepEqual(decide(rateLimit(), { failures: 2 }), { retry: true, delayMs: 1_000 });
  // Vector budget: counted on its own bound, and never below 1 s.
  assert.deepEqual(decide(rateLimit(), { failures: 2, throttles: 0 }, VECTOR), { retry: true, delayMs: 1_000, throttleMs: 1_000 });
  assert.deepEqual(decide(rateLimit(), { throttles: 4 }, VECTOR), { retry: true, delayMs: 4_000, throttleMs: 4_000 });
});

test('decideRetry: 5xx and connection failures are retried with backoff (or the stated retry-after); 4xx are not', () => {
  assert.deepEqual(decide(serverError(), { failures: 1 }), { retry: true, delayMs: 500 });
  assert.deepEqual(decide(serverError({ 'retry-after': '2' })), { retry: true, delayMs: 2_000, retryAfterMs: 2_000 });
  assert.deepEqual(decide(reset()), { retry: true, delayMs: 250 });
  assert.deepEqual(decide(new APIConnectionError({ message: 'socket hang up' })), { retry: true, delayMs: 250 });
  for (const err of [new BadRequestError(400, { message: 'bad' }, undefined, new Headers()), new NotFoundError(404, { message: 'gone' }, undefined, new Headers())]) {
    assert.deepEqual(decide(err), { retry: false, why: 'final', delayMs: 0 });
  }
  assert.deepEqual(decide(rateLimit({}, { code: 'insufficient_quota' })), { retry: false, why: 'quota', delayMs: 0 });
});

test('decideRetry: the test-only defects change exactly what they name', () => {
  assert.deepEqual(decide(reset(), { noConnectionRetry: true }), { retry: false, why: 'final', delayMs: 0 });
  assert.deepEqual(decide(serverError(), { noConnectionRetry: true }), { retry: true, delayMs: 250 });
  assert.deepEqual(decide(rateLimit({ 'retry-after': '120' }), { ignoreRetryAfter: true }), { retry: true, delayMs: 0 });
});

test('decideRetry: out of tries, or a wait that ends after the deadline, is not retried (and a 429 still closes the gate)', () => {
  assert.deepEqual(decide(serverError(), { failures: 6 }), { retry: false, why: 'attempts', delayMs: 15_000 });
  assert.equal(decide(rateLimit(), { failures: 1, throttles: 8 }, VECTOR).why, 'attempts');
  assert.equal(decide(serverError(), { failures: 2 }, VECTOR).why, 'attempts');
  assert.deepEqual(decide(rateLimit({ 'retry-after': '120' }), { deadline: NOW + 2_000 }),
    { retry: false, why: 'deadline', delayMs: 120_000, retryAfterMs: 120_000, throttleMs: 120_000 });
});

test('backoffMs stays within [floor, min(cap, base × 2^attempt)]', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 1, max: 120_000 }),
    fc.integer({ min: 0, max: 2_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, baseMs, capMs, floorMs, r) => {
      const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
      const ms = backoffMs(attempt, { baseMs, capMs, floorMs, random: () => r });
      return Number.isInteger(ms) && ms >= floorMs && ms <= Math.max(floorMs, ceiling);
    }));
  assert.equal(backoffMs(3, { baseMs: 100, capMs: 500, jitter: 'none' }), 500);
  assert.equal(backoffMs(2, { baseMs: 100, capMs: 500, jitter: 'none' }), 400);
  assert.equal(backoffMs(1_000, { baseMs: 100, capMs: 500, jitter: 'none' }), 500);
});

test('retryUpstream: a throttle longer than the deadline ends at once with a clear error naming the time', { timeout: patience(10_000) }, async () => {
  const gate = new ThrottleGate(undefined, 'openai');
  let calls = 0;
  const t0 = performance.now();
  await assert.rejects(retryUpstream(async () => { calls++; throw rateLimit({ 'retry-after': '60' }); },
    { signal: new AbortController().signal, deadline: Date.now() + 2_000, gate, forCall: true, what: 'create response' }), (err: unknown) => {
    assert.ok(isSbError(err, ErrorCode.RATE_LIMITED), String(err));
    assert.match(err.message, /openai is throttling this account \(rate limited\) until about \d\d:\d\d:\d\d UTC \(retry-after 60 s\)\. Try again in (59|60) s, or use start_job\./);
    return true;
  });
  assert.ok(performance.now() - t0 < 1_000, `took ${Math.round(performance.now() - t0)} ms`);
  assert.equal(calls, 1);
  // The gate is closed now: the next call with a short deadline fails before sending anything.
  await assert.rejects(retryUpstream(async () => { calls++; return 1; }, { signal: new AbortController().signal, deadline: Date.now() + 2_000, gate, forCall: true }),
    (err: unknown) => isSbError(err, ErrorCode.RATE_LIMITED));
  assert.equal(calls, 1);
});

/** Aborts `start`'s call 50 ms in and asserts it ended with SB_ERR_CANCELLED within 500 ms of the abort. */
async function abortMidWait(start: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const ac = new AbortController();
  const p = start(ac.signal);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  ac.abort();
  await assert.rejects(p, (err: unknown) => isSbError(err, ErrorCode.CANCELLED));
  assert.ok(performance.now() - t0 < 500, `ended ${Math.round(performance.now() - t0)} ms after the abort`);
}

test('retryUpstream: an abort during the retry wait ends the call at once and sends nothing more', { timeout: patience(10_000) }, async () => {
  let calls = 0;
  await abortMidWait((signal) => retryUpstream(async () => { calls++; throw serverError({ 'retry-after': '10' }); }, { signal, gate: new ThrottleGate() }));
  assert.equal(calls, 1);
});

test('retryUpstream: an abort during the throttle wait ends the call at once', { timeout: patience(10_000) }, async () => {
  const gate = new ThrottleGate();
  gate.throttle(10_000);
  let calls = 0;
  await abortMidWait((signal) => withRetry(async () => { calls++; return 1; }, { signal, gate, attempts: 3 }));
  assert.equal(calls, 0);
});

test('one gate for the account: a 429 met by vector-store work holds a chat call back, and the other way round', { timeout: patience(10_000) }, async () => {
  const gate = new ThrottleGate(undefined, 'openai');
  const chat = new ProviderResilience('openai', { gate });
  const opts = () => ({ signal: new AbortController().signal, deadline: Date.now() + 5_000 });

  // The vector step meets a 429 (retry-after-ms 300) and waits it out; a chat call started meanwhile waits too.
  let vectorCalls = 0;
  const t0 = Date.now();
  const vector = withRetry(async () => { if (++vectorCalls === 1) throw rateLimit({ 'retry-after-ms': '300' }); return 'v'; }, { signal: new AbortController().signal, gate, attempts: 3 });
  await new Promise((r) => setTimeout(r, 20));
  let chatSent = 0;
  const answer = await chat.run(async () => { chatSent = Date.now(); return 'c'; }, opts());
  assert.equal(answer, 'c');
  assert.equal(await vector, 'v');
  assert.ok(chatSent - t0 >= 250, `the chat call sent ${chatSent - t0} ms after the 429`);
  assert.equal(vectorCalls, 2);

  // The chat call meets a 429 now; the vector step that starts meanwhile waits for the gate.
  let chatCalls = 0;
  const t1 = Date.now();
  const second = chat.run(async () => { if (++chatCalls === 1) throw rateLimit({ 'retry-after-ms': '300' }); return 'c2'; }, opts());
  await new Promise((r) => setTimeout(r, 20));
  let vectorSent = 0;
  await withRetry(async () => { vectorSent = Date.now(); return 'v2'; }, { signal: new AbortController().signal, gate, attempts: 3 });
  assert.equal(await second, 'c2');
  assert.ok(vectorSent - t1 >= 250, `the vector step sent ${vectorSent - t1} ms after the 429`);
});
