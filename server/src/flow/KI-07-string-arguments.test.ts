// KI-07: clients send booleans and numbers as strings; both forms are accepted, anything
// else gets an error naming the parameter and what it accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { chatArgsSchema, historyShape } from './args.ts';

const base = { instructions: 'q', session_id: 's1' };

test('booleans: true, "true", false, "false" (any case) are accepted', () => {
  for (const [v, want] of [[true, true], ['true', true], ['TRUE', true], [false, false], ['false', false], [' False ', false]] as const) {
    const r = chatArgsSchema.safeParse({ ...base, disable_memory_search: v });
    assert.ok(r.success, `${JSON.stringify(v)} rejected`);
    assert.equal(r.data.disable_memory_search, want);
  }
});

test('"maybe" is rejected with the parameter name and the accepted values', () => {
  const r = chatArgsSchema.safeParse({ ...base, disable_memory_search: 'maybe' });
  assert.equal(r.success, false);
  const msg = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  assert.match(msg, /disable_memory_search/);
  assert.match(msg, /true or false/);
});

test('numbers as strings are accepted and bounded; junk names the parameter', () => {
  assert.equal(chatArgsSchema.parse({ ...base, temperature: '0.2' }).temperature, 0.2);
  assert.equal(chatArgsSchema.parse({ ...base, temperature: 1 }).temperature, 1);
  for (const bad of ['hot', '3', -1, '']) {
    const r = chatArgsSchema.safeParse({ ...base, temperature: bad });
    assert.equal(r.success, false, `${JSON.stringify(bad)} accepted`);
    assert.match(r.error.issues[0]!.message, /temperature accepts a number from 0 to 2/);
  }
  const h = z.object(historyShape);
  assert.equal(h.parse({ query: 'x', max_results: '5' }).max_results, 5);
  assert.equal(h.safeParse({ query: 'x', max_results: '2.5' }).success, false);
});

test('paths: a list, a single string, or a JSON array string', () => {
  assert.deepEqual(chatArgsSchema.parse({ ...base, context: ['a', 'b'] }).context, ['a', 'b']);
  assert.deepEqual(chatArgsSchema.parse({ ...base, context: 'src' }).context, ['src']);
  assert.deepEqual(chatArgsSchema.parse({ ...base, context: '["x","y"]' }).context, ['x', 'y']);
  assert.equal(chatArgsSchema.safeParse({ ...base, context: '[1,2]' }).success, false);
});

test('structured_output_schema: an object or a JSON string of one', () => {
  const schema = { type: 'object', properties: { a: { type: 'string' } } };
  assert.deepEqual(chatArgsSchema.parse({ ...base, structured_output_schema: schema }).structured_output_schema, schema);
  assert.deepEqual(chatArgsSchema.parse({ ...base, structured_output_schema: JSON.stringify(schema) }).structured_output_schema, schema);
  const bad = chatArgsSchema.safeParse({ ...base, structured_output_schema: 'not json' });
  assert.equal(bad.success, false);
  assert.match(bad.error.issues[0]!.message, /structured_output_schema accepts a JSON Schema object/);
});

test('missing required fields say what to send', () => {
  const r = chatArgsSchema.safeParse({});
  assert.equal(r.success, false);
  const msg = r.error.issues.map((i) => i.message).join('; ');
  assert.match(msg, /instructions is required/);
  assert.match(msg, /session_id is required/);
});

test('a session_id over the limit says the limit and its length, not "is required"', () => {
  const r = chatArgsSchema.safeParse({ ...base, session_id: 's'.repeat(201) });
  assert.equal(r.success, false);
  const msg = r.error.issues.map((i) => i.message).join('; ');
  assert.match(msg, /session_id is 201 characters long; the limit is 200/);
  assert.doesNotMatch(msg, /is required/);
  assert.equal(chatArgsSchema.safeParse({ ...base, session_id: 's'.repeat(200) }).success, true);
  assert.match(chatArgsSchema.safeParse({ ...base, session_id: '' }).error!.issues[0]!.message, /must not be empty/);
});
