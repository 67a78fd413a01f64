import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeConfigFromEnv, parseFakeConfig } from './config.ts';
import { createFakeApi } from './fake-api.ts';
import { patience } from '../reference/patience.ts';

describe('config from env', () => {
  test('SB_FAKE_CONFIG JSON builds a fake with faults, account and seeded stores', { timeout: patience(2_000) }, () => {
    const options = fakeConfigFromEnv({
      SB_FAKE_CONFIG: JSON.stringify({
        seed: 3,
        storeLimit: 10,
        account: { limits: { requestsPerSecond: 5, burst: 5 }, throttle: [{ startMs: 0, durationMs: 1000 }] },
        faults: [{ route: 'files.create', calls: [3], fault: { type: 'hang' } }],
        seedState: { vectorStores: [{ count: 4, metadata: { owner: 'second-brain' } }, { metadata: { owner: 'other' } }] },
      }),
    });
    const fake = createFakeApi(options);
    assert.equal(fake.settings.storeLimit, 10);
    assert.equal(fake.faults.list().length, 1);
    assert.equal(fake.account.limits().burst, 5);
    assert.equal(fake.account.windows().length, 1);
    assert.equal(fake.state.vectorStores.size, 5);
  });

  test('SB_FAKE_CONFIG_FILE reads YAML; invalid config names the field', { timeout: patience(2_000) }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-fake-'));
    const file = join(dir, 'fake.yaml');
    writeFileSync(file, 'storeLimit: 7\nbackground:\n  queuedMs: 340\n');
    const options = fakeConfigFromEnv({ SB_FAKE_CONFIG_FILE: file });
    assert.equal(options.storeLimit, 7);
    assert.equal(options.background?.queuedMs, 340);
    assert.deepEqual(fakeConfigFromEnv({}), {});
    assert.throws(() => parseFakeConfig({ storeLimt: 5 }), /storeLimt/);
    assert.throws(() => parseFakeConfig({ faults: [{ route: 'nope', fault: { type: 'hang' } }] }), /Unknown route "nope"/);
    assert.throws(() => parseFakeConfig({ faults: [{ route: 'files.create', fault: { type: 'latency', ms: -1 } }] }), /faults/);
    assert.throws(() => createFakeApi({ background: { queuedMs: -5 } }), /background\.queuedMs/);
  });
});
