// KI-20: each call's trace shows where its time went, waits included: a follow-up that
// waited for its session, and a call that waited out a throttle another call had learnt.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { startTelemetry, type Telemetry } from '../../src/telemetry/index.ts';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

const memory = new InMemorySpanExporter();
let telemetry: Telemetry;
const home = mkdtempSync(join(tmpdir(), 'sb-waits-'));

before(() => {
  telemetry = startTelemetry({ home, serviceVersion: '0.0.0-test', env: { OTEL_BSP_SCHEDULE_DELAY: '20' }, exporters: { spans: memory } });
});
after(async () => { await telemetry.shutdown(2_000); });

const ms = (s: ReadableSpan) => (s.duration[0] * 1e9 + s.duration[1]) / 1e6;

async function traceOf(traceId: string): Promise<ReadableSpan[]> {
  for (let i = 0; i < 100; i++) {
    const spans = memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (spans.some((s) => s.name.startsWith('tools/call'))) return spans;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no tools/call span in trace ${traceId}`);
}

const meta = (n: number) => ({ traceparent: `00-${String(n).padStart(32, '0')}-00f067aa0ba902b7-01` });

test('a follow-up that waited for its session has a session.wait span as long as the wait', { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ fake: { faults: [{ route: 'responses.create', fault: { type: 'latency', ms: 300 } }] } });
  try {
    const call = (n: number) => rig.client.callTool({ name: 'chat_with_gpt41', arguments: { instructions: `q${n}`, session_id: 'same' }, _meta: meta(n) });
    const [a, b] = await Promise.all([call(1), call(2)]);
    assert.notEqual(a.isError, true, textOf(a as any));
    assert.notEqual(b.isError, true, textOf(b as any));
    const waits = [...await traceOf('1'.padStart(32, '0')), ...await traceOf('2'.padStart(32, '0'))].filter((s) => s.name === 'session.wait');
    assert.equal(waits.length, 2, 'each call has its session.wait span');
    assert.ok(Math.max(...waits.map(ms)) >= 250, `the second call's wait shows: ${waits.map(ms).map(Math.round).join(', ')} ms`);
  } finally {
    await rig.close();
  }
});

test('a call that waits out a throttle another call learnt has a throttle.wait span', { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ fake: { faults: [{ route: 'responses.create', calls: [1], fault: { type: 'rate-limit', retryAfterMs: 400 } }] } });
  try {
    const first = rig.client.callTool({ name: 'chat_with_gpt41', arguments: { instructions: 'q', session_id: 't1' }, _meta: meta(3) });
    await rig.fake.journal.waitFor((e) => e.route === 'responses.create' && e.status === 429, patience(5_000));
    // Let the server read the 429 (the fake journals it as it answers).
    await new Promise((r) => setTimeout(r, 50));
    const second = await rig.client.callTool({ name: 'chat_with_gpt41', arguments: { instructions: 'q', session_id: 't2' }, _meta: meta(4) });
    assert.notEqual((await first).isError, true);
    assert.notEqual(second.isError, true, textOf(second as any));
    const wait = (await traceOf('4'.padStart(32, '0'))).find((s) => s.name === 'throttle.wait');
    assert.ok(wait, 'the second call shows its wait for the known throttle');
    assert.ok(ms(wait) >= 200, `throttle.wait lasted ${Math.round(ms(wait))} ms`);
  } finally {
    await rig.close();
  }
});
