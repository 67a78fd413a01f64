import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nowMs, sleep } from './clock.ts';
import { OwnStalls } from './own-stalls.ts';

test('OwnStalls records a stall of this process with when it happened, and splits an interval by it', async () => {
  const own = new OwnStalls().start();
  try {
    await sleep(20);
    const from = nowMs();
    const end = performance.now() + 120;
    while (performance.now() < end) { /* a synchronous stall, on purpose */ }
    await sleep(20);
    const to = nowMs();
    const held = own.within(from, to);
    assert.ok(held >= 100 && held <= to - from, `a 120 ms stall inside a ${(to - from).toFixed(0)} ms interval reads ${held.toFixed(1)} ms`);
    assert.ok(own.longest(from, to) >= 100);
    // An interval that ended before the stall shares none of it.
    assert.equal(own.within(from - 1_000, from - 500), 0);
  } finally {
    own.stop();
  }
});

test('OwnStalls.within counts only the overlap of each stall', () => {
  const own = new OwnStalls();
  own.stalls.push({ fromMs: 100, toMs: 200 }, { fromMs: 300, toMs: 350 });
  assert.equal(own.within(150, 320), 50 + 20);
  assert.equal(own.within(0, 1_000), 150);
  assert.equal(own.within(200, 300), 0);
  assert.equal(own.longest(150, 320), 100);
});
