import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { schedOf, waitBetween } from './run-queue.ts';
import { startCpuLoad } from './cpu-load.ts';

const supported = schedOf(process.pid) !== null;
const skip = supported ? false : 'no /proc/<pid>/task/<tid>/schedstat on this system';

function spinFor(wallMs: number): void {
  const end = performance.now() + wallMs;
  while (performance.now() < end);
}

test('a blocked thread is not on a run queue: 300 ms in Atomics.wait adds next to nothing to its wait', { skip }, () => {
  const before = schedOf(process.pid);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
  const wait = waitBetween(before, schedOf(process.pid));
  assert.ok(wait !== null);
  // Only the wake-up can wait for a CPU; on a loaded runner that is a few ms, never the 300.
  assert.ok(wait < 150, `waited ${wait.toFixed(1)} ms for a CPU across a 300 ms block`);
});

test('a thread that competes with more busy loops than cores waits for a CPU, and run + wait covers its wall time', { skip, timeout: 20_000 }, async () => {
  const load = startCpuLoad({ burners: availableParallelism() + 1, maxMs: 5_000 });
  try {
    await sleep(500); // the burners' runtimes start
    const before = schedOf(process.pid)!;
    const t0 = performance.now();
    spinFor(600);
    const wall = performance.now() - t0;
    const after = schedOf(process.pid)!;
    const wait = waitBetween(before, after)!;
    const run = after.runMs - before.runMs;
    assert.ok(wait > wall * 0.1, `waited ${wait.toFixed(1)} ms of ${wall.toFixed(1)} ms beside ${load.pids.length} busy loops`);
    assert.ok(Math.abs(run + wait - wall) < wall * 0.2, `run ${run.toFixed(1)} + wait ${wait.toFixed(1)} against wall ${wall.toFixed(1)} ms`);
  } finally {
    load.stop();
  }
});

test('a gone process reads as null, and so does a wait with a reading missing', () => {
  assert.equal(schedOf(0), null);
  assert.equal(schedOf(2 ** 22 + 12345), null);
  assert.equal(waitBetween(null, { runMs: 1, waitMs: 1 }), null);
});
