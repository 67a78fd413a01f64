// Where xAI's and Gemini's OpenAI-compatible endpoints depart from OpenAI (modelled in
// harness/src/fake/dialects.ts): their error bodies reach the user readably, each one's
// stated rate-limit delay is honoured, a parameter the model refuses is not sent, and a
// Chat Completions answer cut short (finish_reason length / content_filter) comes back
// flagged incomplete with its partial text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

const GROK = { tool: 'chat_with_grok4', route: 'chat.xai' } as const;
const GEMINI = { tool: 'chat_with_gemini25_pro', route: 'chat.gemini' } as const;

test("xAI's error body ({code, error}) reaches the user as its message", { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ fake: { faults: [{ route: GROK.route, fault: { type: 'status', status: 400, message: 'Argument not supported on this model: presencePenalty' } }] } });
  try {
    const r = await rig.call(GROK.tool, { instructions: 'q', session_id: 'xai-err' });
    assert.equal(r.isError, true);
    assert.match(textOf(r), /HTTP 400: Argument not supported on this model: presencePenalty\. Check the request parameters/);
    assert.doesNotMatch(textOf(r), /400 "/, 'not the raw JSON string');
  } finally {
    await rig.close();
  }
});

for (const shape of ['list', 'object'] as const) {
  test(`Gemini's error body (${shape === 'list' ? '[{error}]' : '{error}'}) reaches the user as its message`, { timeout: patience(30_000) }, async () => {
    const rig = await startRig({
      fake: { geminiErrorShape: shape, faults: [{ route: GEMINI.route, fault: { type: 'status', status: 400, message: 'Invalid reasoning_effort: minimal. Valid values are: high, low, medium, none' } }] },
    });
    try {
      const r = await rig.call(GEMINI.tool, { instructions: 'q', session_id: `gem-err-${shape}` });
      assert.equal(r.isError, true);
      assert.match(textOf(r), /HTTP 400: Invalid reasoning_effort: minimal\. Valid values are: high, low, medium, none/);
      assert.doesNotMatch(textOf(r), /no body/);
    } finally {
      await rig.close();
    }
  });
}

for (const loopback of [false, true]) {
  test(`Gemini's 429 is retried after the delay its RetryInfo states (no Retry-After header)${loopback ? ', over real sockets' : ''}`, { timeout: patience(30_000) }, async () => {
    const rig = await startRig({ loopback, fake: { faults: [{ route: GEMINI.route, calls: [1], fault: { type: 'rate-limit', retryAfterMs: 700 } }] } });
    try {
      const progress: string[] = [];
      const r = await rig.call(GEMINI.tool, { instructions: 'q', session_id: 'gem-429' }, { onprogress: (p) => progress.push(p.message ?? '') });
      assert.equal(r.isError, undefined, textOf(r));
      const calls = rig.fake.journal.entries().filter((e) => e.route === GEMINI.route);
      assert.deepEqual(calls.map((e) => e.status), [429, 200]);
      const d = (await rig.call('server_diagnostics', {})).structuredContent as any;
      assert.equal(d.providers.gemini.last_retry_after_ms, 700, 'the stated delay was read');
      assert.ok(calls[1]!.startMs - calls[0]!.endMs! >= 650, 'and waited out');
      assert.ok(progress.some((m) => /throttled by gemini, retrying in \d+ s/.test(m)), progress.join('|'));
    } finally {
      await rig.close();
    }
  });
}

test("xAI's 429 is retried after its retry-after", { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ fake: { faults: [{ route: GROK.route, calls: [1], fault: { type: 'rate-limit', retryAfterMs: 700 } }] } });
  try {
    const r = await rig.call(GROK.tool, { instructions: 'q', session_id: 'xai-429' });
    assert.equal(r.isError, undefined, textOf(r));
    const calls = rig.fake.journal.entries().filter((e) => e.route === GROK.route);
    assert.deepEqual(calls.map((e) => e.status), [429, 200]);
    const d = (await rig.call('server_diagnostics', {})).structuredContent as any;
    assert.equal(d.providers.xai.last_retry_after_ms, 700);
    assert.ok(calls[1]!.startMs - calls[0]!.endMs! >= 650, 'waited the retry-after');
  } finally {
    await rig.close();
  }
});

test('reasoning_effort, which xAI refuses on grok-4, is not sent even when the catalogue claims it, and the user is told', { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ models: { 'grok-4': { reasoning_efforts: ['high'] } } });
  try {
    const r = await rig.call(GROK.tool, { instructions: 'q', session_id: 'xai-effort', reasoning_effort: 'high' });
    assert.equal(r.isError, undefined, textOf(r));
    const calls = rig.fake.journal.entries().filter((e) => e.route === GROK.route);
    assert.deepEqual(calls.map((e) => e.status), [200], 'the fake refuses reasoning_effort on grok-4 with a 400; none was sent');
    const s = r.structuredContent as any;
    assert.ok(s.notes.some((n: string) => /reasoning_effort "high" is not supported by grok-4 \(xai\); it was not sent/.test(n)), JSON.stringify(s.notes));
  } finally {
    await rig.close();
  }
});

for (const [reason, target, emptyContent] of [['length', GROK, false], ['content_filter', GEMINI, true]] as const) {
  test(`a Chat Completions answer that ends finish_reason: ${reason} comes back flagged incomplete, with its reason and the partial text`, { timeout: patience(30_000) }, async () => {
    const rig = await startRig({ fake: { faults: [{ route: target.route, times: 1, fault: { type: 'finish', reason, emptyContent } }] } });
    try {
      const r = await rig.call(target.tool, { instructions: 'q', session_id: `finish-${reason}` });
      assert.equal(r.isError, undefined, textOf(r));
      const s = r.structuredContent as any;
      assert.deepEqual(s.incomplete, { reason });
      if (emptyContent) assert.equal(s.text, '', 'a filtered answer with no content is an empty partial answer, not an error');
      else assert.ok(s.text.length > 0, 'the partial text is returned');
      assert.match(textOf(r), new RegExp(`status: incomplete \\(${reason}\\)`));
      assert.ok(s.notes.some((n: string) => new RegExp(`stopped early \\(${reason}`).test(n)), JSON.stringify(s.notes));
      assert.equal(rig.fake.journal.entries().filter((e) => e.route === target.route).length, 1, 'not retried');
    } finally {
      await rig.close();
    }
  });
}
