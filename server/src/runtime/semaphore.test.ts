import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Semaphore } from './semaphore.ts';

const tick = () => new Promise((r) => setImmediate(r));

test('FIFO: slots go to waiters in arrival order, and a newcomer never overtakes them', async () => {
  const s = new Semaphore(1);
  await s.acquire();
  const order: number[] = [];
  const waits = [1, 2, 3].map((n) => s.acquire().then(() => order.push(n)));
  assert.equal(s.waiting, 3);
  s.release();
  await tick();
  assert.deepEqual(order, [1]);
  s.release();
  s.release();
  await Promise.all(waits);
  assert.deepEqual(order, [1, 2, 3]);
  assert.deepEqual(s.stats(), { size: 1, inUse: 1, waiting: 0, maxInUse: 1 });
});

test('an aborted waiter leaves the queue at once with an SbError, holds nothing, and leaves no listener', async () => {
  const s = new Semaphore(1);
  await s.acquire();
  const c = new AbortController();
  const waiting = s.acquire(c.signal);
  c.abort();
  await assert.rejects(waiting, (e: Error & { code?: string }) => e.code === 'SB_ERR_CANCELLED');
  assert.equal(s.waiting, 0);
  s.release();
  assert.equal(s.inUse, 0, 'the slot was not handed to the aborted waiter');
  await assert.rejects(s.acquire(AbortSignal.abort()), (e: Error & { code?: string }) => e.code === 'SB_ERR_CANCELLED');

  // A waiter granted its slot detaches from the signal.
  const kept = new AbortController();
  await s.acquire();
  const granted = s.acquire(kept.signal);
  s.release();
  await granted;
  kept.abort();
  assert.equal(s.inUse, 1);
});

test('a limit that changes: a lower one holds waiters back, pump() lets them in when it grows', async () => {
  let limit = 2;
  const s = new Semaphore(() => limit);
  await s.acquire();
  await s.acquire();
  limit = 1;
  let got = false;
  const w = s.acquire().then(() => { got = true; });
  s.release();
  await tick();
  assert.equal(got, false, 'one slot held and the limit is 1');
  limit = 3;
  s.pump();
  await w;
  assert.equal(s.inUse, 2);
});

test('run releases on failure; release without a slot is an error; sizes are validated', async () => {
  const s = new Semaphore(1);
  await assert.rejects(s.run(async () => { throw new Error('boom'); }), /boom/);
  assert.equal(s.inUse, 0);
  assert.throws(() => s.release(), /more often/);
  assert.throws(() => new Semaphore(0), RangeError);
});
