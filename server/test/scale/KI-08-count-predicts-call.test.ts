// count_project_tokens predicts the call: over many small files it counted content only
// (39,800 tokens for 10,000 files, while the call sent 467,890: per-file framing and the
// tree were left out). Now the count includes framing and tree, and for a named model the
// split and the exact context text. Checked against what the fake received (the request's
// input, counted with o200k): within 2 %. Scaled down to 2,000 files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { countTokens } from '../../src/context/index.ts';
import { patience } from '@second-brain/harness';

const TOLERANCE = 0.02;

function project(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-count-'));
  for (let d = 0; d < 10; d++) mkdirSync(join(dir, `pkg${d}`, 'inner'), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `pkg${i % 10}`, 'inner', `module_${i}.ts`), `export const v${i} = ${i};\n`);
  return dir;
}

function lastInput(rig: Awaited<ReturnType<typeof startRig>>): string {
  const records = [...(rig.fake.state as unknown as { responses: Map<string, { request: { input: unknown } }> }).responses.values()];
  const input = records.at(-1)!.request.input;
  return typeof input === 'string' ? input : JSON.stringify(input);
}

const within = (predicted: number, actual: number) => Math.abs(predicted - actual) / actual <= TOLERANCE;

test('KI-08: the count of 2,000 small files matches what the call sent (framing and tree included), everything inline', { timeout: patience(120_000) }, async () => {
  const dir = project(2_000);
  const rig = await startRig({ roots: [dir], models: { 'gpt-4.1': { context_window: 1_000_000 } } });
  try {
    const c = await rig.call('count_project_tokens', { paths: ['.'], model: 'gpt-4.1' });
    assert.equal(c.isError, undefined, textOf(c));
    const r = c.structuredContent as { totalTokens: number; contentTokens: number; split: { promptTokens: number; inlineFiles: number; overflowFiles: number } };
    assert.equal(r.split.inlineFiles, 2_000);
    assert.equal(r.split.overflowFiles, 0);
    const instructions = 'Where is v7 defined?';
    const call = await rig.call('chat_with_gpt41', { instructions, session_id: 'count', context: ['.'], disable_memory_search: true });
    assert.equal(call.isError, undefined, textOf(call));
    const [sent, question] = await countTokens([lastInput(rig), `\n\n---\n\n${instructions}`], 'o200k', AbortSignal.timeout(patience(30_000))) as [number, number];
    const context = sent - question;
    assert.ok(within(r.split.promptTokens, context), `predicted ${r.split.promptTokens} for the model, sent ${context}`);
    assert.ok(within(r.totalTokens, context), `everything-inline total ${r.totalTokens}, sent ${context}`);
    assert.ok(r.contentTokens < context * 0.5, 'content alone is far below what is sent: framing and tree dominate');
  } finally {
    await rig.close();
  }
});

test('for an overflowing model, the split and the context text match the call', { timeout: patience(120_000) }, async () => {
  const dir = project(2_000);
  const rig = await startRig({ roots: [dir], models: { 'gpt-4.1': { context_window: 30_000 } } });
  try {
    const c = await rig.call('count_project_tokens', { paths: ['.'], model: 'chat_with_gpt41' });
    const r = c.structuredContent as { split: { promptTokens: number; inlineFiles: number; overflowFiles: number; overflowBundles: number } };
    assert.ok(r.split.overflowFiles > 1_000, `most files overflow: ${r.split.overflowFiles}`);
    assert.equal(r.split.overflowBundles, 1);
    assert.match(textOf(c), /overflow \([\d,]+ tokens, [\d,]+ bytes, to the vector store in 1 bundle/);
    const instructions = 'Where is v7 defined?';
    const call = await rig.call('chat_with_gpt41', { instructions, session_id: 'count2', context: ['.'], disable_memory_search: true });
    const sc = call.structuredContent as { context: { files_inline: number; files_in_vector_store: number } };
    assert.equal(sc.context.files_inline, r.split.inlineFiles);
    assert.equal(sc.context.files_in_vector_store, r.split.overflowFiles);
    const [sent, question] = await countTokens([lastInput(rig), `\n\n---\n\n${instructions}`], 'o200k', AbortSignal.timeout(patience(30_000))) as [number, number];
    assert.ok(within(r.split.promptTokens, sent - question), `predicted ${r.split.promptTokens}, sent ${sent - question}`);
    const bad = await rig.call('count_project_tokens', { paths: ['.'], model: 'gpt-9' });
    assert.equal(bad.isError, true);
    assert.match(textOf(bad), /unknown model "gpt-9"/);
  } finally {
    await rig.close();
  }
});
