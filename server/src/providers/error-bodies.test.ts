import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseErrorBody } from './error-bodies.ts';
import { parseRetryInfoMs } from '../resilience/retry-after.ts';

test("Gemini's list-wrapped and plain Google errors become OpenAI-shaped, keeping status and details", () => {
  const inner = { code: 429, message: 'Resource exhausted.', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '22s' }] };
  for (const body of [[{ error: inner }], { error: inner }]) {
    const out = normaliseErrorBody('gemini', body) as { error: Record<string, unknown> };
    assert.equal(out.error.message, 'Resource exhausted.');
    assert.equal(out.error.code, 'RESOURCE_EXHAUSTED');
    assert.equal(parseRetryInfoMs(out.error), 22_000);
  }
  // An OpenAI-shaped body (a proxy, or the fake's own spec check) is left alone.
  assert.equal(normaliseErrorBody('gemini', { error: { message: 'm', type: 'invalid_request_error', code: null } }), undefined);
});

test("xAI's {code, error} becomes OpenAI-shaped; OpenAI's own body is untouched", () => {
  assert.deepEqual(normaliseErrorBody('xai', { code: 'Client specified an invalid argument', error: 'Argument not supported on this model: stop' }), {
    error: { message: 'Argument not supported on this model: stop', type: null, code: 'Client specified an invalid argument', param: null },
  });
  assert.equal(normaliseErrorBody('openai', { code: 'x', error: 'y' }), undefined);
});

test('RetryInfo delays: fractional seconds round up to whole ms; other details and malformed delays are ignored', () => {
  assert.equal(parseRetryInfoMs({ details: [{ '@type': 'type.googleapis.com/google.rpc.Help' }, { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '0.4005s' }] }), 401);
  assert.equal(parseRetryInfoMs({ details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: 'soon' }] }), undefined);
  assert.equal(parseRetryInfoMs(undefined), undefined);
});
