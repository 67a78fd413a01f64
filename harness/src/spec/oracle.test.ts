import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateResponse, warmValidators } from './oracle.ts';
import { validateResponseOffThread, warmValidatorsOffThread } from './off-thread.ts';
import { patience } from '../reference/patience.ts';

const LIST = { path: '/vector_stores', method: 'get' };
const store = (id: string) => ({
  id, object: 'vector_store', created_at: 1, name: 'x', usage_bytes: 0, status: 'completed', last_active_at: 1, metadata: {},
  file_counts: { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 },
});
const good = { object: 'list', data: [store('vs_1')], first_id: 'vs_1', last_id: 'vs_1', has_more: false };
const bad = { object: 'list', data: [{ ...store('vs_1'), status: 'sleeping' }], first_id: 'vs_1', last_id: 'vs_1', has_more: false };

test('warmValidators compiles request and response validators of each operation ahead of use; checks answer as before', { timeout: patience(20_000) }, () => {
  const n = warmValidators([LIST, { path: '/vector_stores', method: 'post' }, { path: '/no/such/path', method: 'get' }]);
  // ErrorResponse, the list's 200, the create's request body and its 200; an unknown operation adds none.
  assert.ok(n >= 4, `compiled ${n}`);
  assert.deepEqual(validateResponse({ ...LIST, status: 200, body: good }), []);
  const v = validateResponse({ ...LIST, status: 200, body: bad });
  assert.equal(v.length, 1);
  assert.match(v[0]!.field, /^\/data\/0\/status$/);
});

test('the off-thread warm-up runs on the validator thread, ahead of checks posted after it', { timeout: patience(20_000) }, async () => {
  const order: string[] = [];
  const warm = warmValidatorsOffThread([LIST]).then(() => order.push('warm'));
  const check = validateResponseOffThread({ ...LIST, status: 200, body: bad }).then((v) => { order.push('check'); return v; });
  const [, violations] = await Promise.all([warm, check]);
  assert.deepEqual(order, ['warm', 'check']);
  assert.equal(violations.length, 1);
});
