import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecentLoopLag } from './loop-monitor.ts';
import { patience } from '@second-brain/harness';

function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* a synchronous stall, on purpose */ }
}

test('RecentLoopLag sees a stall of the loop, and keeps it for one window after', { timeout: patience(10_000) }, async () => {
  const lag = new RecentLoopLag(300, 10);
  try {
    await sleep(50);
    block(200);
    await sleep(30);
    assert.ok(lag.maxMs() >= 150, `a 200 ms stall reads as ${lag.maxMs()} ms`);
    // The window holding the stall closes; the next read still reports it (the last full window)...
    await sleep(320);
    assert.ok(lag.maxMs() >= 150, 'still seen right after its window closed');
  } finally {
    lag.close();
  }
});
