import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveConcurrency } from './adaptive-concurrency.ts';
import { ErrorCode, SbError } from '../errors.ts';
import { patience } from '@second-brain/harness';

const signal = () => AbortSignal.timeout(patience(5_000));

test('never grants more slots than the level; waiters are served FIFO as slots free', { timeout: patience(5_000) }, async () => {
  const l = new AdaptiveConcurrency({ start: 2, min: 1, max: 4 });
  const a = await l.acquire(signal());
  const b = await l.acquire(signal());
  const order: string[] = [];
  const c = l.acquire(signal()).then((r) => { order.push('c'); return r; });
  const d = l.acquire(signal()).then((r) => { order.push('d'); return r; });
  await new Promise((r) => setImmediate(r));
  assert.equal(l.inFlight, 2);
  assert.equal(l.waiting, 2);
  a({ kind: 'error' });
  const rc = await c;
  assert.deepEqual(order, ['c']);
  b({ kind: 'error' });
  const rd = await d;
  assert.deepEqual(order, ['c', 'd']);
  rc({ kind: 'error' });
  rd({ kind: 'error' });
  assert.equal(l.inFlight, 0);
  assert.equal(l.maxInFlight, 2);
});

test('a 429 halves the level once per burst, not once per request in flight', { timeout: patience(5_000) }, () => {
  const l = new AdaptiveConcurrency({ start: 8, min: 1, max: 16 });
  return (async () => {
    const slots = await Promise.all(Array.from({ length: 8 }, () => l.acquire(signal())));
    for (const release of slots) release({ kind: 'rate_limited' });
    assert.equal(l.level, 4, 'eight 429s from one burst shrink 8 → 4, not to 1');
    const next = await l.acquire(signal());
    next({ kind: 'rate_limited' });
    assert.equal(l.level, 2, 'a later burst shrinks again');
    assert.deepEqual(l.changes, { increase: 0, rate_limited: 2, latency: 0, loop_lag: 0 }, 'each shrink is counted under its reason');
  })();
});

test('successes grow the level additively up to max; a low headroom stops growth', { timeout: patience(5_000) }, async () => {
  const l = new AdaptiveConcurrency({ start: 2, min: 1, max: 5 });
  for (let i = 0; i < 40; i++) (await l.acquire(signal()))({ kind: 'ok', latencyMs: 10 });
  assert.equal(l.level, 5);
  assert.equal(l.changes.increase, 3, 'growth 2 → 5 counts three level changes');
  const h = new AdaptiveConcurrency({ start: 2, min: 1, max: 5 });
  h.noteHeadroom(1);
  for (let i = 0; i < 40; i++) (await h.acquire(signal()))({ kind: 'ok', latencyMs: 10 });
  assert.equal(h.level, 2, 'no growth while the provider reports almost no requests left');
  assert.deepEqual(h.held, { loop_lag: 0, headroom: 39 }, 'each withheld growth is counted (the first sample only sets the baseline)');
});

test('jitter of a few ms does not count as congestion', { timeout: patience(5_000) }, async () => {
  const l = new AdaptiveConcurrency({ start: 4, min: 1, max: 8 });
  for (let i = 0; i < 60; i++) (await l.acquire(signal()))({ kind: 'ok', latencyMs: i % 2 ? 2 : 30 });
  assert.equal(l.level, 8);
});

test('latency far above the baseline shrinks the level', { timeout: patience(5_000) }, async () => {
  const changes: string[] = [];
  const l = new AdaptiveConcurrency({ start: 8, min: 1, max: 8, onChange: (_f, _t, why) => changes.push(why) });
  for (let i = 0; i < 10; i++) (await l.acquire(signal()))({ kind: 'ok', latencyMs: 20 });
  assert.equal(l.level, 8);
  for (let i = 0; i < 3; i++) (await l.acquire(signal()))({ kind: 'ok', latencyMs: 400 });
  assert.ok(l.level < 8, `level ${l.level} after uploads 20× slower`);
  assert.ok(changes.includes('latency'));
});

test('an aborted waiter leaves the queue at once and never takes a slot (KI-03)', { timeout: patience(5_000) }, async () => {
  const l = new AdaptiveConcurrency({ start: 1, min: 1, max: 1 });
  const held = await l.acquire(signal());
  const ac = new AbortController();
  const waiting = l.acquire(ac.signal);
  ac.abort();
  await assert.rejects(waiting, (e: unknown) => e instanceof SbError && e.code === ErrorCode.CANCELLED);
  assert.equal(l.waiting, 0);
  held({ kind: 'error' });
  held({ kind: 'error' });
  assert.equal(l.inFlight, 0, 'a double release does not free a slot twice');
  const again = await l.acquire(signal());
  assert.equal(l.inFlight, 1);
  again({ kind: 'ok', latencyMs: 1 });
});

test('rejects impossible bounds eagerly', () => {
  assert.throws(() => new AdaptiveConcurrency({ start: 5, min: 1, max: 4 }), RangeError);
  assert.throws(() => new AdaptiveConcurrency({ start: 1, min: 0, max: 4 }), RangeError);
});

test('while the server’s own loop lags, the level holds; at twice the hold delay it shrinks (KI-01, KI-12)', { timeout: patience(5_000) }, async () => {
  let lag = 0;
  const changes: string[] = [];
  const l = new AdaptiveConcurrency({ start: 4, min: 1, max: 16, loopLagMs: () => lag, loopLagHoldMs: 40, onChange: (_f, _t, why) => changes.push(why) });
  for (let i = 0; i < 20; i++) (await l.acquire(signal()))({ kind: 'ok', latencyMs: 10 });
  const grown = l.level;
  assert.ok(grown > 4, `healthy uploads grow the level (${grown})`);
  lag = 45;
  for (let i = 0; i < 40; i++) (await l.acquire(signal()))({ kind: 'ok', latencyMs: 10 });
  assert.equal(l.level, grown, 'a lagging loop stops growth');
  assert.equal(l.held.loop_lag, 40, 'each growth withheld for the lag is counted');
  lag = 90;
  (await l.acquire(signal()))({ kind: 'ok', latencyMs: 10 });
  assert.equal(l.level, Math.floor(grown * 0.75), 'twice the hold delay shrinks by a quarter');
  assert.ok(changes.includes('loop_lag'));
  // Slots taken before that decrease do not shrink it again: one decrease per lag event.
  const held = await Promise.all(Array.from({ length: 2 }, () => l.acquire(signal())));
  const before = l.level;
  (await l.acquire(signal()))({ kind: 'ok', latencyMs: 10 });
  for (const r of held) r({ kind: 'ok', latencyMs: 10 });
  assert.ok(l.level >= Math.floor(before * 0.75) && l.level < before, `one decrease for the slots of one event (${before} → ${l.level})`);
  lag = 0;
  for (let i = 0; i < 60; i++) (await l.acquire(signal()))({ kind: 'ok', latencyMs: 10 });
  assert.ok(l.level > before, 'grows again once the loop is live');
});
