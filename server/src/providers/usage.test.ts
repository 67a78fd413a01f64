import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../config/defaults.ts';
import { sanitizeUsage } from './usage.ts';

test('plausible usage passes through without a note', () => {
  assert.deepEqual(sanitizeUsage(12, 34, 'openai'), { usage: { input_tokens: 12, output_tokens: 34 }, note: undefined });
});

test('negative, fractional, non-numeric and absurd figures are dropped, rounded or clamped with a note', () => {
  const r = sanitizeUsage(-3, 12.7, 'openai');
  assert.deepEqual(r.usage, { input_tokens: 0, output_tokens: 12 });
  assert.match(r.note!, /input_tokens -3 dropped, output_tokens 12.7 rounded to 12/);
  const big = sanitizeUsage(1e15, 'x', 'xai');
  assert.deepEqual(big.usage, { input_tokens: DEFAULTS.USAGE_MAX_TOKENS, output_tokens: 0 });
  assert.match(big.note!, /^xai reported implausible token usage \(input_tokens 1000000000000000 clamped to 100000000, output_tokens "x" dropped\)/);
  assert.deepEqual(sanitizeUsage(Number.NaN, undefined, 'gemini').usage, undefined);
});
