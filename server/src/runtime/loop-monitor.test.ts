import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecentLoopLag } from './loop-monitor.ts';
import { patience } from '@second-brain/harness';

function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* a synchronous stall, on purpose */ }
}

// The histogram is real (a real stall of the loop); the window boundaries come from a
// clock the test moves, so a slow machine cannot shift a read into another window.
test('RecentLoopLag sees a stall of the loop, keeps it for one window after, then lets it go', { timeout: patience(10_000) }, async () => {
  let clock = 0;
  const lag = new RecentLoopLag(300, 10, () => clock);
  try {
    await sleep(50);
    block(200);
    await sleep(30);
    clock = 100;
    assert.ok(lag.maxMs() >= 150, `a 200 ms stall reads as ${lag.maxMs()} ms`);
    clock = 250;
    assert.ok(lag.maxMs() >= 150, 'seen again within its window');
    // The window holding the stall closes; the next read still reports it (the last full window)...
    clock = 350;
    assert.ok(lag.maxMs() >= 150, 'still seen right after its window closed');
    clock = 500;
    assert.ok(lag.maxMs() >= 150, 'still seen through the window after');
    // ...and once that window closes too, with no stall in it, the stall is gone.
    await sleep(30);
    clock = 700;
    const after = lag.maxMs();
    assert.ok(after < 150, `a window with no stall reads ${after} ms`);
  } finally {
    lag.close();
  }
});
