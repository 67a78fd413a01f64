import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InflightRegistry } from './inflight.ts';
import { MemoryReclaimer, slackBytes } from './memory-reclaim.ts';

const MB = 1_048_576;
function usage(heapTotal: number, heapUsed: number, external: number): NodeJS.MemoryUsage {
  return { rss: heapTotal + external, heapTotal, heapUsed, external, arrayBuffers: external };
}

function wired(opts: { slackMb: number; minSlackMb?: number; afterIdleMs?: number }) {
  const calls: string[] = [];
  let m = usage(200 * MB, (200 - opts.slackMb) * MB, 0);
  const reclaim = new MemoryReclaimer({
    afterIdleMs: opts.afterIdleMs ?? 5,
    minSlackBytes: (opts.minSlackMb ?? 64) * MB,
    gc: (o) => { calls.push(`${o?.type}/${o?.flavor}`); m = usage(40 * MB, 35 * MB, 0); },
    memoryUsage: () => m,
  });
  const inflight = new InflightRegistry();
  inflight.onActivity((busy) => (busy ? reclaim.busy() : reclaim.idle()));
  return { reclaim, inflight, calls };
}

test('slack is committed heap not in use plus external memory', () => {
  assert.equal(slackBytes({ heapTotal: 200, heapUsed: 80, external: 45 }), 165);
  assert.equal(slackBytes({ heapTotal: 80, heapUsed: 90, external: 5 }), 5);
});

test('once the last call ends and the server stays idle, one memory-reducing collection runs', async () => {
  const { reclaim, inflight, calls } = wired({ slackMb: 150 });
  const a = inflight.start('chat_with_gpt41');
  const b = inflight.start('chat_with_o3');
  inflight.end(a);
  await sleep(30);
  assert.deepEqual(calls, [], 'not while a call is still in flight');
  inflight.end(b);
  await sleep(30);
  assert.deepEqual(calls, ['major/last-resort']);
  const s = reclaim.stats();
  assert.equal(s.runs, 1);
  assert.equal(s.lastFreedBytes, 160 * MB);
  assert.equal(s.disabled, null);
  reclaim.close();
});

test('a call that starts within the idle delay postpones it; small slack is skipped; 0 turns it off', async () => {
  const postponed = wired({ slackMb: 150, afterIdleMs: 40 });
  postponed.inflight.end(postponed.inflight.start('x'));
  await sleep(10);
  const c = postponed.inflight.start('y');
  await sleep(60);
  assert.deepEqual(postponed.calls, [], 'the planned collection was dropped when a call started');
  postponed.inflight.end(c);
  await sleep(60);
  assert.equal(postponed.calls.length, 1);
  postponed.reclaim.close();

  const small = wired({ slackMb: 10 });
  small.inflight.end(small.inflight.start('x'));
  await sleep(30);
  assert.deepEqual(small.calls, []);
  assert.equal(small.reclaim.stats().skipped, 1);
  small.reclaim.close();

  const off = wired({ slackMb: 150, afterIdleMs: 0 });
  off.inflight.end(off.inflight.start('x'));
  await sleep(30);
  assert.deepEqual(off.calls, []);
  assert.match(off.reclaim.stats().disabled ?? '', /turned off/);
});

test('with the real collector, a large call\'s garbage leaves the heap once idle', async () => {
  const reclaim = new MemoryReclaimer({ afterIdleMs: 5, minSlackBytes: MB });
  assert.equal(reclaim.stats().disabled, null, 'the V8 collector is reachable');
  let garbage: Array<{ s: string; b: Buffer }> | null = [];
  for (let i = 0; i < 200_000; i++) garbage.push({ s: `${'x'.repeat(200)}${i}`, b: Buffer.alloc(i % 10 === 0 ? 1024 : 0) });
  garbage = null;
  const before = process.memoryUsage();
  reclaim.idle();
  await sleep(100);
  const after = process.memoryUsage();
  const s = reclaim.stats();
  assert.equal(s.runs, 1);
  assert.ok(after.heapTotal < before.heapTotal, `heap committed ${before.heapTotal} → ${after.heapTotal}`);
  assert.ok(slackBytes(after) < slackBytes(before), `slack ${slackBytes(before)} → ${slackBytes(after)}`);
  reclaim.close();
});
