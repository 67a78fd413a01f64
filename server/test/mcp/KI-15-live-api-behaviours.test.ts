// Behaviours of the live OpenAI API that no schema shows, against the spec-checked fake:
// the 400 previous_response_not_found (and the older 404), synchronous responses that end
// failed / cancelled / incomplete, and implausible usage figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

for (const status of [400, 404] as const) {
  test(`KI-15: a chain the provider forgot (${status} previous_response_not_found) starts fresh with the full context`, { timeout: patience(30_000) }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-gone-'));
    writeFileSync(join(dir, 'a.ts'), 'export const a = 1;\n');
    const rig = await startRig({ roots: [dir], fake: { previousResponseNotFoundStatus: status } });
    try {
      const first = await rig.call('chat_with_o3', { instructions: 'first', session_id: `gone-${status}`, context: ['a.ts'] });
      assert.equal(first.isError, undefined, textOf(first));
      // The provider expires the response the session points at.
      rig.fake.state.forgetResponse((first.structuredContent as any).response_id);
      const r = await rig.call('chat_with_o3', { instructions: 'second', session_id: `gone-${status}`, context: ['a.ts'] });
      assert.equal(r.isError, undefined, textOf(r));
      assert.match(textOf(r), /expired at the provider.*fresh thread/);
      const creates = rig.fake.journal.entries().filter((e) => e.route === 'responses.create');
      assert.equal(creates.at(-2)!.status, status, 'the provider refused the gone chain');
      assert.equal(creates.at(-1)!.previousResponseId, undefined, 'the retry has no previous id');
      assert.equal((r.structuredContent as any).context.files_inline, 1, 'full context resent');
    } finally {
      await rig.close();
    }
  });
}

for (const final of ['failed', 'cancelled'] as const) {
  test(`a synchronous response that ends ${final} is a clear error with the upstream message, not an empty answer`, { timeout: patience(30_000) }, async () => {
    const rig = await startRig();
    try {
      rig.fake.faults.add({ route: 'responses.create', times: 1, fault: { type: 'background', final } });
      const r = await rig.call('chat_with_gpt41', { instructions: 'q', session_id: `sync-${final}` });
      assert.equal(r.isError, true, textOf(r));
      assert.match(textOf(r), /SB_ERR_UPSTREAM_RESPONSE_FAILED|failed|cancelled upstream/);
      if (final === 'failed') assert.match(textOf(r), /The model failed to generate a response/);
      else assert.match(textOf(r), /cancelled upstream/);
    } finally {
      await rig.close();
    }
  });
}

test('an incomplete answer comes back flagged, with its reason and the partial text', { timeout: patience(30_000) }, async () => {
  const rig = await startRig();
  try {
    rig.fake.faults.add({ route: 'responses.create', times: 1, fault: { type: 'background', final: 'incomplete' } });
    const r = await rig.call('chat_with_gpt41', { instructions: 'q', session_id: 'inc' });
    assert.equal(r.isError, undefined, textOf(r));
    const s = r.structuredContent as any;
    assert.deepEqual(s.incomplete, { reason: 'max_output_tokens' });
    assert.ok(s.text.length > 0, 'the partial text is returned');
    assert.match(textOf(r), /status: incomplete \(max_output_tokens\)/);
  } finally {
    await rig.close();
  }
});

test('negative and absurd usage figures are dropped or clamped, with a note', { timeout: patience(30_000) }, async () => {
  const rig = await startRig();
  try {
    rig.fake.faults.add({ route: 'responses.create', times: 1, fault: { type: 'usage', inputTokens: -40, outputTokens: 9_000_000_000_000 } });
    const r = await rig.call('chat_with_gpt41', { instructions: 'q', session_id: 'usage' });
    assert.equal(r.isError, undefined, textOf(r));
    const s = r.structuredContent as any;
    assert.ok(s.usage.input_tokens >= 0, `input_tokens ${s.usage.input_tokens}`);
    assert.ok(s.usage.output_tokens <= 100_000_000, `output_tokens ${s.usage.output_tokens}`);
    assert.ok(s.notes.some((n: string) => /implausible token usage/.test(n)), JSON.stringify(s.notes));
  } finally {
    await rig.close();
  }
});
