import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SbError } from '../errors.ts';
import { defaultVectorLimits, resolveVectorLimits } from './limits.ts';
import { VectorStoreManager } from './manager.ts';
import { tempState } from '../../test/support/vector-fixtures.ts';
import OpenAI from 'openai';

const config = (re: RegExp) => (e: unknown) => e instanceof SbError && e.code === ErrorCode.CONFIG && re.test(e.message);

test('limits are validated eagerly, naming the option and the accepted values', () => {
  assert.deepEqual(resolveVectorLimits(undefined), defaultVectorLimits());
  assert.throws(() => resolveVectorLimits({ uploadConcurency: 3 } as never), config(/Unknown vector-store limit "uploadConcurency". Accepted: .*uploadConcurrencyStart/));
  assert.throws(() => resolveVectorLimits({ uploadConcurrencyStart: 20 }), config(/uploadConcurrencyMin <= uploadConcurrencyStart <= uploadConcurrencyMax; got 1, 20, 16/));
  assert.throws(() => resolveVectorLimits({ batchMaxFiles: 5_000 }), config(/at most 2000/));
  assert.throws(() => resolveVectorLimits({ batchDeadlineMs: 0 }), config(/"batchDeadlineMs" must be greater than 0/));
  assert.throws(() => resolveVectorLimits({ storeReserve: 100 }), config(/"storeReserve" must be below "storeLimit"/));
  assert.throws(() => resolveVectorLimits({ retryBaseDelayMs: Number.NaN }), config(/finite number/));
});

test('the manager refuses a wrong serverName or an empty instanceId at construction', () => {
  const st = tempState();
  try {
    const client = new OpenAI({ apiKey: 'x', baseURL: 'http://127.0.0.1:9', maxRetries: 0 });
    assert.throws(() => new VectorStoreManager({ client, db: st.db, instanceId: 'i', serverName: 'other' as never }), config(/"serverName" must be "second-brain"/));
    assert.throws(() => new VectorStoreManager({ client, db: st.db, instanceId: '', serverName: 'second-brain' }), config(/"instanceId"/));
  } finally {
    st.cleanup();
  }
});
