import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerPool } from './worker-pool.ts';
import type { PoolTestJob } from '../../test/support/pool-test-worker.ts';
import { patience } from '@second-brain/harness';

const url = new URL('../../test/support/pool-test-worker.ts', import.meta.url);
const code = (c: string) => (e: Error & { code?: string }) => e.code === c;
const never = new AbortController().signal;

function pool(size = 1, queueMax = 4) {
  return new WorkerPool<PoolTestJob, number>({ url, size, queueMax, purpose: 'run test jobs' });
}

test('jobs run on at most `size` threads and their results come back', { timeout: patience(30_000) }, async (t) => {
  const p = pool(2, 16);
  t.after(() => p.close());
  const results = await Promise.all([1, 2, 3, 4, 5].map((v) => p.run({ op: 'echo', value: v }, never)));
  assert.deepEqual(results, [2, 4, 6, 8, 10]);
  const s = p.stats();
  assert.ok(s.workers <= 2, `${s.workers} threads`);
  assert.equal(s.completed, 5);
  await assert.rejects(p.run({ op: 'fail' }, never), (e: Error & { code?: string }) => e.code === 'SB_ERR_INTERNAL' && /on purpose/.test(e.message));
});

test('a full queue makes callers wait (counted); a waiter or a queued job leaves on abort', { timeout: patience(30_000) }, async (t) => {
  const p = pool(1, 1);
  t.after(() => p.close());
  const running = new AbortController();
  const spin = p.run({ op: 'spin' }, running.signal);
  const queued = p.run({ op: 'echo', value: 1 }, never);
  const waiter = new AbortController();
  const third = p.run({ op: 'echo', value: 2 }, waiter.signal);
  await new Promise((r) => setImmediate(r));
  assert.equal(p.stats().waitingForRoom, 1);
  assert.equal(p.stats().queueFullWaits, 1);
  waiter.abort();
  await assert.rejects(third, code('SB_ERR_CANCELLED'));
  assert.equal(p.stats().waitingForRoom, 0);
  // Cancelling the running job rejects it at once and the worker goes on to the queued one.
  running.abort();
  await assert.rejects(spin, code('SB_ERR_CANCELLED'));
  assert.equal(await queued, 2);
  assert.equal(p.stats().cancelled, 1, 'the running job (the room waiter never became a job)');
});

test('a thread that dies fails its job and is replaced; close fails what is pending', { timeout: patience(30_000) }, async () => {
  const p = pool(1, 4);
  await assert.rejects(p.run({ op: 'crash' }, never), (e: Error & { code?: string }) => e.code === 'SB_ERR_INTERNAL' && /stopped/.test(e.message));
  assert.equal(p.stats().crashed, 1);
  assert.equal(await p.run({ op: 'echo', value: 21 }, never), 42);
  const spin = p.run({ op: 'spin' }, never);
  const queued = p.run({ op: 'echo', value: 1 }, never);
  const failed = [assert.rejects(spin, code('SB_ERR_SHUTTING_DOWN')), assert.rejects(queued, code('SB_ERR_SHUTTING_DOWN'))];
  await p.close();
  await Promise.all(failed);
  assert.equal(p.stats().workers, 0);
  await assert.rejects(p.run({ op: 'echo', value: 1 }, never), code('SB_ERR_SHUTTING_DOWN'));
});
