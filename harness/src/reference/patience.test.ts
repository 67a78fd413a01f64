import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PATIENCE_FACTOR, PATIENCE_MARGIN } from './defaults.ts';
import { machineSlowdown, patience, patienceFromEnv, slowdownFor } from './patience.ts';
import { startCpuLoad } from './cpu-load.ts';

test('a quiet machine keeps the guard as written', () => {
  assert.equal(slowdownFor(0.2, 1, 2), 1);
  assert.equal(slowdownFor(1, null, 2), 1);
});

test('the guard grows with the runnable tasks per core, whichever of the two figures is larger', () => {
  assert.equal(slowdownFor(6, 2, 2), 3 * PATIENCE_MARGIN);
  assert.equal(slowdownFor(1, 6, 2), 3 * PATIENCE_MARGIN);
  assert.equal(slowdownFor(500, 500, 2), MAX_PATIENCE_FACTOR, 'clamped');
  assert.equal(slowdownFor(4, 4, 0), Math.min(MAX_PATIENCE_FACTOR, 4 * PATIENCE_MARGIN), 'no core count: one core');
});

test('SB_TEST_PATIENCE fixes the factor; a bad value is an error, not a silent 1', () => {
  assert.equal(patienceFromEnv({}), null);
  assert.equal(patienceFromEnv({ SB_TEST_PATIENCE: '4' }), 4);
  assert.equal(machineSlowdown({ SB_TEST_PATIENCE: '2.5' }), 2.5);
  assert.throws(() => patienceFromEnv({ SB_TEST_PATIENCE: '0.5' }), /number >= 1/);
  assert.throws(() => patienceFromEnv({ SB_TEST_PATIENCE: 'lots' }), /number >= 1/);
});

test('busy loops beside the test are seen at once (runnable tasks, not only the lagging load average)', { skip: process.platform !== 'linux' && 'reads /proc/loadavg', timeout: 20_000 }, async () => {
  const quiet = machineSlowdown({});
  const load = startCpuLoad({ burners: 6, maxMs: 15_000 });
  try {
    let busy = 0;
    // The count is a sample; a few reads while the loops run see them.
    for (let i = 0; i < 20 && busy <= quiet; i++) {
      await new Promise((r) => setTimeout(r, 100));
      busy = Math.max(busy, machineSlowdown({}));
    }
    assert.ok(busy > 1, `six busy loops on ${quiet === 1 ? 'a quiet' : 'this'} machine: factor ${busy}`);
    assert.ok(patience(1_000) >= 1_000);
  } finally {
    load.stop();
  }
});
