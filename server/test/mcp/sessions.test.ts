// KI-15 and session continuity: follow-ups carry the previous id, also after a restart on
// the same SQLite file; an unknown id starts fresh with a note; concurrent follow-ups queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

test('OpenAI follow-ups chain previous_response_id, across a server restart', { timeout: patience(30_000) }, async () => {
  let rig = await startRig();
  try {
    const a = await rig.call('chat_with_gpt41', { instructions: 'first', session_id: 'chain' });
    const firstId = (a.structuredContent as any).response_id;
    assert.ok(firstId);
    const b = await rig.call('chat_with_gpt41', { instructions: 'second', session_id: 'chain' });
    const creates = rig.fake.journal.entries().filter((e) => e.route === 'responses.create');
    assert.equal(creates.at(-1)!.previousResponseId, firstId);
    const secondId = (b.structuredContent as any).response_id;
    rig = await rig.restart();
    const c = await rig.call('chat_with_gpt41', { instructions: 'third, after restart', session_id: 'chain' });
    assert.equal(c.isError, undefined, textOf(c));
    const after = rig.fake.journal.entries().filter((e) => e.route === 'responses.create');
    assert.equal(after.at(-1)!.previousResponseId, secondId, 'the restarted server continued the chain');
  } finally {
    await rig.close();
  }
});

test('Chat Completions sessions resend the history, across a restart', { timeout: patience(30_000) }, async () => {
  let rig = await startRig();
  try {
    await rig.call('chat_with_grok4', { instructions: 'remember the word PELICAN', session_id: 'g' });
    rig = await rig.restart();
    await rig.call('chat_with_grok4', { instructions: 'what was the word?', session_id: 'g' });
    const last = [...rig.fake.journal.entries()].reverse().find((e) => e.route === 'chat.xai')!;
    assert.ok(last);
    const sessions = rig.app.sessions.history('g', 'grok-4');
    assert.equal(sessions.length, 4);
    assert.match(sessions[0]!.content, /PELICAN/);
  } finally {
    await rig.close();
  }
});

test('an expired previous response id starts fresh with the full context and a note', { timeout: patience(30_000) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-exp-'));
  writeFileSync(join(dir, 'a.ts'), 'export const a = 1;\n');
  const rig = await startRig({ roots: [dir] });
  try {
    await rig.call('chat_with_o3', { instructions: 'first', session_id: 'exp', context: ['a.ts'] });
    // Second call: a.ts unchanged would not be resent; the provider then forgets the chain.
    rig.fake.faults.add({ route: 'responses.create', calls: [1], fault: { type: 'previous-not-found' } });
    const r = await rig.call('chat_with_o3', { instructions: 'second', session_id: 'exp', context: ['a.ts'] });
    assert.equal(r.isError, undefined, textOf(r));
    assert.match(textOf(r), /expired at the provider.*fresh thread/);
    const creates = rig.fake.journal.entries().filter((e) => e.route === 'responses.create');
    assert.equal(creates.at(-1)!.previousResponseId, undefined, 'the retry has no previous id');
    assert.equal((r.structuredContent as any).context.files_inline, 1, 'full context resent');
  } finally {
    await rig.close();
  }
});

test('two concurrent follow-ups in one session are serialised: the second chains from the first', { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ fake: { faults: [{ route: 'responses.create', calls: [2], fault: { type: 'latency', ms: 300 } }] } });
  try {
    await rig.call('chat_with_gpt41', { instructions: 'start', session_id: 'par' });
    const [x, y] = await Promise.all([
      rig.call('chat_with_gpt41', { instructions: 'x', session_id: 'par' }),
      rig.call('chat_with_gpt41', { instructions: 'y', session_id: 'par' }),
    ]);
    assert.equal(x.isError, undefined);
    assert.equal(y.isError, undefined);
    const creates = rig.fake.journal.entries().filter((e) => e.route === 'responses.create');
    assert.equal(creates.length, 3);
    const ids = [(x.structuredContent as any).response_id, (y.structuredContent as any).response_id];
    assert.ok(ids.includes(creates[2]!.previousResponseId), 'the later call chained from the earlier one');
    assert.ok(creates[2]!.startMs >= creates[1]!.endMs!, 'the second request started after the first ended');
  } finally {
    await rig.close();
  }
});
