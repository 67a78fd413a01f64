// The confirmation threshold is a setting, validated at start like every other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './env.ts';

test('SECOND_BRAIN_CONFIRM_ABOVE_TOKENS: default 200,000; a bad value stops the start naming the variable', () => {
  assert.equal(loadConfig({ SECOND_BRAIN_HOME: '/tmp/sb-x' }).confirmAboveTokens, 200_000);
  assert.equal(loadConfig({ SECOND_BRAIN_HOME: '/tmp/sb-x', SECOND_BRAIN_CONFIRM_ABOVE_TOKENS: '750000' }).confirmAboveTokens, 750_000);
  assert.throws(() => loadConfig({ SECOND_BRAIN_HOME: '/tmp/sb-x', SECOND_BRAIN_CONFIRM_ABOVE_TOKENS: 'lots' }),
    (err: any) => err.code === 'SB_ERR_CONFIG' && /SECOND_BRAIN_CONFIRM_ABOVE_TOKENS="lots"/.test(err.message));
});
