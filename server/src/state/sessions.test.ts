import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from './db.ts';
import { SessionLocks, SessionStore } from './sessions.ts';
import { patience } from '@second-brain/harness';

test('sessions survive reopening the database (restart)', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'sb-sess-')), 'state.sqlite');
  const a = new SessionStore(openDatabase(path));
  a.recordTurn('s1', 'o3', 'q1', 'a1', 'resp_1');
  a.recordTurn('s1', 'o3', 'q2', 'a2', 'resp_2');
  const b = new SessionStore(openDatabase(path));
  assert.equal(b.get('s1', 'o3')?.last_response_id, 'resp_2');
  assert.equal(b.get('s1', 'o3')?.turns, 2);
  assert.deepEqual(b.history('s1', 'o3').map((m) => m.content), ['q1', 'a1', 'q2', 'a2']);
  b.resetChain('s1', 'o3');
  assert.equal(b.get('s1', 'o3')?.last_response_id, undefined);
});

test('KI-15: calls in one session are serialised; a waiting call can be cancelled without jamming the queue', { timeout: patience(5_000) }, async () => {
  const locks = new SessionLocks();
  const order: string[] = [];
  const never = new AbortController().signal;
  const r1 = await locks.acquire('k', never);
  const p2 = locks.acquire('k', never).then((r) => { order.push('2'); return r; });
  const ac = new AbortController();
  const p3 = locks.acquire('k', ac.signal);
  const p4 = locks.acquire('k', never).then((r) => { order.push('4'); return r; });
  ac.abort(new Error('cancel'));
  await assert.rejects(p3);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(order, [], 'nobody runs while the first holds the lock');
  r1();
  (await p2)();
  (await p4)();
  assert.deepEqual(order, ['2', '4']);
  assert.equal(locks.held, 0, 'no lock left held');
});
