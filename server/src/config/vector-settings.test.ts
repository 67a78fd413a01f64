/**
 * The vector-store settings from the environment (SECOND_BRAIN_VECTOR_LIMITS,
 * SECOND_BRAIN_JANITOR): parsed eagerly, and an unknown key or a bad value is a startup
 * error that names it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SbError } from '../errors.ts';
import { JANITOR_TUNING_KEYS, VECTOR_LIMIT_KEYS, vectorTuningFromEnv as vectorSettingsFromEnv } from './env.ts';
import { defaultVectorLimits, type JanitorOptions, type VectorLimits } from '../vector/index.ts';

type KeysOf<T> = { [K in keyof T]-?: K }[keyof T];

test('vector settings: the accepted keys are the fields of what they tune', () => {
  // Compile-time: every accepted key names a field (a misspelt one does not type-check).
  const janitorKeys: readonly KeysOf<JanitorOptions>[] = JANITOR_TUNING_KEYS;
  const limitKeys: readonly KeysOf<VectorLimits>[] = VECTOR_LIMIT_KEYS;
  assert.ok(janitorKeys.length > 0);
  // Run time: every limit is tunable, and nothing else.
  assert.deepEqual([...limitKeys].sort(), Object.keys(defaultVectorLimits()).sort());
});

test('vector settings: unset gives nothing, JSON objects of numbers are taken', () => {
  assert.deepEqual(vectorSettingsFromEnv({}), {});
  assert.deepEqual(
    vectorSettingsFromEnv({ SECOND_BRAIN_VECTOR_LIMITS: '{"batchMaxFiles":8,"batchDeadlineMs":1500}', SECOND_BRAIN_JANITOR: '{"intervalMs":250}' }),
    { limits: { batchMaxFiles: 8, batchDeadlineMs: 1500 }, janitor: { intervalMs: 250 } },
  );
});

test('vector settings: unknown keys, bad values and non-objects fail naming the variable and the key', () => {
  const fails = (env: Record<string, string>, pattern: RegExp) => assert.throws(() => vectorSettingsFromEnv(env), (e: unknown) => {
    assert.ok(e instanceof SbError);
    assert.equal(e.code, ErrorCode.CONFIG);
    assert.match(e.message, pattern);
    return true;
  });
  fails({ SECOND_BRAIN_JANITOR: '{"intervalMS":250}' }, /SECOND_BRAIN_JANITOR: unknown key "intervalMS"\. Accepted: intervalMs/);
  fails({ SECOND_BRAIN_VECTOR_LIMITS: '{"batchMaxFiles":"8"}' }, /SECOND_BRAIN_VECTOR_LIMITS: "batchMaxFiles" must be a finite number/);
  fails({ SECOND_BRAIN_VECTOR_LIMITS: '{"batchMaxFiles":-1}' }, /must be a finite number >= 0/);
  fails({ SECOND_BRAIN_JANITOR: '[250]' }, /SECOND_BRAIN_JANITOR must be a JSON object/);
  fails({ SECOND_BRAIN_JANITOR: 'intervalMs=250' }, /SECOND_BRAIN_JANITOR is not JSON/);
});
