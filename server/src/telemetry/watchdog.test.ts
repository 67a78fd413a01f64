/**
 * The watchdog on its own: a stall past the threshold is reported once, with the
 * in-flight operations; a shorter one is not; the figures feed server_diagnostics; and
 * the test hook refuses to run unless enabled.
 */
import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addLogSink, createLogger, setLogger } from '../logging/logger.ts';
import { InflightRegistry } from '../runtime/inflight.ts';
import { ErrorCode } from '../errors.ts';
import { LoopWatchdog, testBlockLoop, type LoopStall } from './watchdog.ts';
import { patience } from '@second-brain/harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let records: Array<Record<string, unknown>> = [];
let removeSink: () => void;
let hooksBefore: string | undefined;

beforeEach(() => {
  records = [];
  setLogger(createLogger({ level: 'info', destination: { write: () => true } }));
  removeSink = addLogSink((r) => { records.push(r); });
  hooksBefore = process.env.SECOND_BRAIN_TEST_HOOKS;
  process.env.SECOND_BRAIN_TEST_HOOKS = '1';
});

afterEach(() => {
  removeSink();
  if (hooksBefore === undefined) delete process.env.SECOND_BRAIN_TEST_HOOKS;
  else process.env.SECOND_BRAIN_TEST_HOOKS = hooksBefore;
});

describe('LoopWatchdog', { timeout: patience(10_000) }, () => {
  test('a 300 ms stall is reported as it ends, with the in-flight call and its phase', async (t) => {
    const registry = new InflightRegistry();
    const call = registry.start('ask_o3');
    registry.setPhase(call, 'upload');
    const stalls: Array<LoopStall & { seenAt: number }> = [];
    const w = new LoopWatchdog({ registry, onStall: (s) => stalls.push({ ...s, seenAt: performance.now() }) }).start();
    try {
      await sleep(w.checkIntervalMs * 3);
      testBlockLoop(300);
      const blockEnded = performance.now();
      await sleep(w.checkIntervalMs * 3);
      // The first report after the block is this stall (a loaded machine may add others later).
      const stall = stalls.find((s) => s.seenAt >= blockEnded)!;
      assert.ok(stall, 'the stall was reported');
      assert.ok(stall.duration_ms >= 300 - w.checkIntervalMs && stall.duration_ms <= 450, `duration ${stall.duration_ms}`);
      assert.deepEqual(stall.inflight.map((c) => [c.tool, c.phase]), [['ask_o3', 'upload']]);
      // Detected by the first timer callback after the block: within one check interval.
      const detectionMs = stall.seenAt - blockEnded;
      t.diagnostic(`stall of 300 ms reported as ${stall.duration_ms} ms, detected ${detectionMs.toFixed(2)} ms after it ended (check interval ${w.checkIntervalMs} ms)`);
      assert.ok(detectionMs < w.checkIntervalMs + 50, `detected ${detectionMs} ms after the block ended`);
      const log = records.find((r) => r.event === 'loop.blocked');
      assert.ok(log, 'a log record');
      assert.equal(log.level, 40);
      assert.match(String(log.msg), /blocked for \d+ ms \(process CPU \d+ ms meanwhile\); in flight: ask_o3 \(phase upload/);
      // A busy wait is CPU time: most of the stall shows as such.
      assert.ok(stall.cpu_ms >= stall.duration_ms * 0.5, `busy stall of ${stall.duration_ms} ms, CPU ${stall.cpu_ms} ms`);
      const snap = w.snapshot();
      assert.equal(snap.stalls, stalls.length);
      assert.ok(snap.last_stall);
      assert.ok(snap.max_ms >= 250, `histogram max ${snap.max_ms}`);
    } finally {
      w.stop();
      registry.end(call);
    }
  });

  test('a stall spent waiting, not computing, reports little CPU time', async (t) => {
    const stalls: Array<LoopStall & { seenAt: number }> = [];
    const w = new LoopWatchdog({ onStall: (s) => stalls.push({ ...s, seenAt: performance.now() }) }).start();
    try {
      await sleep(w.checkIntervalMs * 3);
      // Atomics.wait blocks the thread in the kernel: the loop stalls, the CPU idles.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      const blockEnded = performance.now();
      await sleep(w.checkIntervalMs * 3);
      const stall = stalls.find((s) => s.seenAt >= blockEnded);
      assert.ok(stall, 'the stall was reported');
      t.diagnostic(`waiting stall of ${stall.duration_ms} ms, CPU ${stall.cpu_ms} ms`);
      assert.ok(stall.cpu_ms < stall.duration_ms * 0.5, `waiting stall of ${stall.duration_ms} ms, CPU ${stall.cpu_ms} ms`);
    } finally {
      w.stop();
    }
  });

  test('a stall shorter than the threshold is not reported', async () => {
    const stalls: LoopStall[] = [];
    // A wide margin between block and threshold: a loaded machine adds its own delay.
    const w = new LoopWatchdog({ thresholdMs: 500, onStall: (s) => stalls.push(s) }).start();
    try {
      await sleep(w.checkIntervalMs * 2);
      testBlockLoop(150);
      await sleep(w.checkIntervalMs * 3);
      assert.equal(stalls.length, 0);
      assert.equal(w.snapshot().stalls, 0);
      assert.equal(records.filter((r) => r.event === 'loop.blocked').length, 0);
    } finally {
      w.stop();
    }
  });

  test('the timers never keep the process alive, and stop() ends them', () => {
    const w = new LoopWatchdog().start();
    assert.equal(w.running, true);
    w.stop();
    assert.equal(w.running, false);
  });

  test('testBlockLoop refuses to run without SECOND_BRAIN_TEST_HOOKS=1', () => {
    delete process.env.SECOND_BRAIN_TEST_HOOKS;
    const t0 = performance.now();
    assert.throws(() => testBlockLoop(1_000), (e: { code?: string }) => e.code === ErrorCode.CONFIG);
    assert.ok(performance.now() - t0 < 100);
  });
});
