import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nowMs } from './clock.ts';

test('nowMs follows the system clock when it is stepped, as other processes stamping Date.now() do', () => {
  const realNow = Date.now;
  try {
    assert.ok(Math.abs(nowMs() - Date.now()) <= 3, 'starts on the system clock');
    const step = 6_000;
    Date.now = () => realNow.call(Date) + step;
    assert.ok(Math.abs(nowMs() - Date.now()) <= 3, `after a ${step} ms step: ${nowMs() - Date.now()} ms apart`);
    const a = nowMs();
    const b = nowMs();
    assert.ok(b >= a, 'still monotonic between steps');
  } finally {
    Date.now = realNow;
  }
  assert.ok(Math.abs(nowMs() - Date.now()) <= 3, 'and back');
});
