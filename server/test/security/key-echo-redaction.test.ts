// An upstream 401 whose message echoes the key: the key reaches neither the client, nor
// the jobs table in state.sqlite, nor the log output, nor an exported span.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { startTelemetry, type Telemetry } from '../../src/telemetry/index.ts';
import { startRig, SENTINEL_KEY, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

// Not key-shaped: only the configured-key registry can catch it.
const GEMINI_KEY = 'gemini-plain-secret-value-777';
const memory = new InMemorySpanExporter();
let telemetry: Telemetry;

before(() => {
  telemetry = startTelemetry({ home: mkdtempSync(join(tmpdir(), 'sb-keyecho-tel-')), serviceVersion: '0.0.0-test', env: { OTEL_BSP_SCHEDULE_DELAY: '20' }, exporters: { spans: memory } });
});
after(async () => { await telemetry.shutdown(2_000); });

const echo = (key: string) => ({ type: 'status' as const, status: 401, code: 'invalid_api_key', errorType: 'invalid_request_error', message: `Incorrect API key provided: ${key}. You can find your API key at the dashboard.` });

test('a 401 echoing the key: client text, jobs row, logs and spans hold no key', { timeout: patience(40_000) }, async () => {
  const rig = await startRig({
    env: { GEMINI_API_KEY: GEMINI_KEY },
    fake: { faults: [
      { route: 'responses.create', fault: echo(SENTINEL_KEY) },
      { route: 'chat.gemini', fault: echo(GEMINI_KEY) },
    ] },
  });
  try {
    const direct = await rig.call('chat_with_gpt41', { instructions: 'hello', session_id: 'k1' });
    assert.equal(direct.isError, true);
    const directText = textOf(direct) + JSON.stringify(direct.structuredContent);
    assert.match(directText, /401|API key/i, 'the error still says what went wrong');
    assert.ok(!directText.includes(SENTINEL_KEY), `client text leaks the OpenAI key: ${directText}`);

    const started = await rig.call('start_job', { tool: 'chat_with_gemini25_flash', args: { instructions: 'hello', session_id: 'k2' } });
    const jobId = (started.structuredContent as any).job_id;
    let polled = '';
    for (let i = 0; i < 100; i++) {
      const p = await rig.call('poll_job', { job_id: jobId });
      polled = textOf(p) + JSON.stringify(p.structuredContent);
      if ((p.structuredContent as any).status !== 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(polled, /failed/);
    assert.ok(!polled.includes(GEMINI_KEY), `poll_job leaks the Gemini key: ${polled}`);

    const db = new DatabaseSync(join(rig.home, 'state.sqlite'), { readOnly: true });
    try {
      const rows = db.prepare('SELECT * FROM jobs').all();
      assert.equal(rows.length, 1);
      const stored = JSON.stringify(rows);
      assert.match(stored, /\[redacted\]/, 'the stored error keeps its text, key redacted');
      assert.ok(!stored.includes(GEMINI_KEY) && !stored.includes(SENTINEL_KEY), `jobs row leaks a key: ${stored}`);
    } finally { db.close(); }

    const logs = rig.logs.join('');
    assert.ok(logs.length > 0);
    assert.ok(!logs.includes(GEMINI_KEY) && !logs.includes(SENTINEL_KEY), 'logs leak a key');

    let spans = '';
    for (let i = 0; i < 60; i++) {
      const all = memory.getFinishedSpans();
      spans = JSON.stringify(all.map((s) => ({ name: s.name, attributes: s.attributes, status: s.status, events: s.events })));
      if (all.some((s) => s.name === 'tools/call chat_with_gpt41') && all.some((s) => s.status.message)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(spans, /tools\/call chat_with_gpt41/);
    assert.ok(!spans.includes(GEMINI_KEY) && !spans.includes(SENTINEL_KEY), 'spans leak a key');
  } finally {
    await rig.close();
  }
});
