import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress } from './progress.ts';
import { DEFAULTS } from '../config/defaults.ts';

test('KI-06: the heartbeat is due early, so a silence stays within the interval even when its timer fires late', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const sent: Array<{ progress: number; message?: string }> = [];
  const p = createProgress('tok', { sendNotification: (n) => { sent.push(n.params); return Promise.resolve(); } }, undefined, 1_000);
  const due = 1_000 * (1 - DEFAULTS.PROGRESS_HEARTBEAT_EARLY_FRACTION);
  assert.ok(due < 1_000 && due >= 800, `due after ${due} ms`);
  t.mock.timers.tick(due - 1);
  assert.equal(sent.length, 0, 'nothing before it is due');
  t.mock.timers.tick(1);
  assert.equal(sent.length, 1, 'a heartbeat before the interval has passed');
  // A report sends at once and restarts the wait.
  t.mock.timers.tick(due / 2);
  p.report('reading files');
  assert.deepEqual(sent.at(-1), { progressToken: 'tok', progress: 2, message: 'reading files' });
  t.mock.timers.tick(due - 1);
  assert.equal(sent.length, 2);
  t.mock.timers.tick(1);
  assert.deepEqual(sent.at(-1), { progressToken: 'tok', progress: 3, message: 'reading files' });
  p.stop();
  t.mock.timers.tick(10_000);
  assert.equal(sent.length, 3, 'nothing after stop');
});
