// Arguments over a limit get a clear, local error and the server stays usable:
// - instructions larger than the model's window minus the reserve are refused before any
//   read or upload, naming both sizes (8 MiB to gpt-4.1 was sent upstream);
// - a structured_output_schema nested 200,000 levels is refused as an argument, and a stack
//   overflow is never reported as the provider's bad response (it was SB_ERR_UPSTREAM_BAD_RESPONSE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { ErrorCode, localFailure } from '../../src/errors.ts';
import { callFailureError as toUpstreamError } from '../../src/resilience/upstream-errors.ts';
import { patience } from '@second-brain/harness';

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-big-'));
  mkdirSync(join(dir, 'src'));
  for (let i = 0; i < 30; i++) writeFileSync(join(dir, 'src', `m${i}.ts`), `export const v${i} = ${i};\n`.repeat(200));
  return dir;
}

test('instructions over the window minus the reserve are refused locally, before any upload, naming the sizes', { timeout: patience(60_000) }, async () => {
  const dir = project();
  // A 20,000-token window keeps the test small; the rule is the same at 1 M (gpt-4.1).
  const rig = await startRig({ roots: [dir], models: { 'gpt-4.1': { context_window: 20_000 } } });
  try {
    const instructions = 'review the retry budget and the upload path please '.repeat(3_000); // ~150 kB, ~27k tokens
    const r = await rig.call('chat_with_gpt41', { instructions, session_id: 'big', context: ['src'] });
    assert.equal(r.isError, true, textOf(r));
    const text = textOf(r);
    assert.match(text, /SB_ERR_INPUT_TOO_LARGE|instructions are [\d,]+ tokens/);
    assert.match(text, /instructions are [\d,]+ tokens \([\d,]+ bytes\)/);
    assert.match(text, /at most 12,000/);
    const upstream = rig.fake.journal.entries().filter((e) => e.route === 'files.create' || e.route === 'responses.create' || e.route === 'vector_stores.create');
    assert.equal(upstream.length, 0, 'nothing was sent upstream');
    // The server stays usable: a normal question right after works.
    const ok = await rig.call('chat_with_gpt41', { instructions: 'What is v1?', session_id: 'small', context: ['src/m1.ts'] });
    assert.equal(ok.isError, undefined, textOf(ok));
  } finally {
    await rig.close();
  }
});

test('a structured_output_schema nested 200,000 levels is an argument error, not the provider\'s', { timeout: patience(60_000) }, async () => {
  const rig = await startRig({});
  try {
    const deep = `${'{"items":'.repeat(200_000)}{}${'}'.repeat(200_000)}`;
    const r = await rig.call('chat_with_gpt41', { instructions: 'q', session_id: 'deep', structured_output_schema: deep });
    assert.equal(r.isError, true);
    const text = textOf(r);
    assert.doesNotMatch(text, /UPSTREAM/);
    assert.match(text, /structured_output_schema may be nested at most 64 levels/);
    assert.equal(rig.fake.journal.entries().filter((e) => e.route === 'responses.create').length, 0);
  } finally {
    await rig.close();
  }
});

test('a stack overflow or a SQLite error becomes a local code, never an upstream one', () => {
  let overflow: unknown;
  const recurse = (n: number): number => recurse(n + 1) + 1;
  try { recurse(0); } catch (err) { overflow = err; }
  assert.equal(toUpstreamError('openai', 'ask o3', overflow).code, ErrorCode.STACK_OVERFLOW);
  const sqlite = Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 });
  assert.equal(toUpstreamError('openai', 'ask o3', sqlite).code, ErrorCode.STATE_DB);
  assert.equal(localFailure(new Error('other')), undefined);
});
