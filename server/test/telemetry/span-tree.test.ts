// One trace per tool call: the MCP SERVER span (parented by the client's traceparent),
// the context phase, the upload, the GenAI CLIENT span with its retry wait, and every
// upstream HTTP request with status and rate-limit headers; cancellation is marked; no
// attribute carries the API key.
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@opentelemetry/api';
import { startTelemetry, type Telemetry } from '../../src/telemetry/index.ts';
import { startRig, SENTINEL_KEY, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

const memory = new InMemorySpanExporter();
let telemetry: Telemetry;
const home = mkdtempSync(join(tmpdir(), 'sb-tree-'));

before(() => {
  telemetry = startTelemetry({ home, serviceVersion: '0.0.0-test', env: { OTEL_BSP_SCHEDULE_DELAY: '20' }, exporters: { spans: memory } });
});
after(async () => { await telemetry.shutdown(2_000); });

async function flushed(traceId: string, rootName: string): Promise<ReadableSpan[]> {
  for (let i = 0; i < 100; i++) {
    const spans = memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    if (spans.some((s) => s.name === rootName)) return spans;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${rootName} span in trace ${traceId}`);
}

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

test('chat call with overflow and a 429 retry: the span tree by name, kind, parent and attributes', { timeout: patience(60_000) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-tree-proj-'));
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, `m${i}.ts`), `export const x${i} = ${i}; // ${'pad '.repeat(300)}\n`);
  const rig = await startRig({
    loopback: true, roots: [dir], models: { o3: { context_window: 12_000 } },
    fake: { faults: [{ route: 'responses.create', calls: [1], fault: { type: 'rate-limit', retryAfterMs: 200 } }] },
  });
  try {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpanId = '00f067aa0ba902b7';
    const r = await rig.client.callTool({
      name: 'chat_with_o3',
      arguments: { instructions: 'summarise', session_id: 'tree', context: ['.'] },
      _meta: { traceparent: `00-${traceId}-${clientSpanId}-01` },
    });
    assert.notEqual(r.isError, true, textOf(r as any));
    const spans = await flushed(traceId, 'tools/call chat_with_o3');
    const byName = (n: string) => spans.filter((s) => s.name === n);
    const root = byName('tools/call chat_with_o3')[0]!;
    assert.equal(root.kind, SpanKind.SERVER);
    assert.equal(parentOf(root), clientSpanId, 'parent is the client span from _meta.traceparent');
    assert.equal(root.attributes['mcp.method.name'], 'tools/call');
    assert.equal(root.attributes['gen_ai.tool.name'], 'chat_with_o3');
    assert.equal(root.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(root.attributes['network.transport'], 'pipe');
    assert.ok(root.attributes['jsonrpc.request.id'] !== undefined);
    assert.ok(root.attributes['mcp.session.id']);
    // The version the server answered to the client's initialize (the SDK keeps no public record of it).
    assert.equal(root.attributes['mcp.protocol.version'], LATEST_PROTOCOL_VERSION);
    const structured = r.structuredContent as { context?: { files_inline: number; tokens_inline: number } };
    assert.ok(structured.context!.files_inline > 0 && structured.context!.tokens_inline > 0, JSON.stringify(structured.context));
    assert.equal(root.attributes['second_brain.context.tokens_inline'], structured.context!.tokens_inline, 'the tool span carries the inline tokens');

    const ctx = byName('context.prepare')[0]!;
    assert.equal(parentOf(ctx), root.spanContext().spanId);
    assert.ok((ctx.attributes['second_brain.context.files_overflow'] as number) > 0);
    const upload = byName('context.upload')[0]!;
    assert.equal(parentOf(upload), root.spanContext().spanId);
    assert.ok((upload.attributes['second_brain.upload.files'] as number) > 0);

    const genai = byName('chat o3')[0]!;
    assert.equal(genai.kind, SpanKind.CLIENT);
    assert.equal(parentOf(genai), root.spanContext().spanId);
    assert.equal(genai.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(genai.attributes['gen_ai.request.model'], 'o3');
    assert.equal(genai.attributes['gen_ai.conversation.id'], 'tree');
    assert.ok(genai.attributes['gen_ai.response.id']);
    assert.ok((genai.attributes['gen_ai.usage.input_tokens'] as number) > 0);
    assert.equal(genai.attributes['server.address'], '127.0.0.1');
    assert.ok(genai.events.some((e) => e.name === 'second_brain.retry'), 'the retry is an event on the GenAI span');

    const wait = byName('retry.wait')[0]!;
    assert.equal(parentOf(wait), genai.spanContext().spanId);
    assert.equal(wait.attributes['second_brain.retry.after_ms'], 200);

    const http = spans.filter((s) => s.kind === SpanKind.CLIENT && s.attributes['http.request.method']);
    assert.ok(http.length >= 3, `${http.length} HTTP client spans`);
    const throttled = http.find((s) => s.attributes['http.response.status_code'] === 429)!;
    assert.ok(throttled, 'the 429 is an HTTP span');
    assert.equal(parentOf(throttled), genai.spanContext().spanId);
    assert.ok(Object.keys(throttled.attributes).some((k) => k.includes('retry_after') || k.includes('retry-after')), 'retry-after recorded on the HTTP span');

    for (const s of memory.getFinishedSpans()) {
      assert.ok(!JSON.stringify({ a: s.attributes, e: s.events }).includes(SENTINEL_KEY), `API key in span ${s.name}`);
    }
  } finally {
    await rig.close();
  }
});

test('a cancelled call is marked cancelled on its span', { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ fake: { faults: [{ route: 'chat.xai', fault: { type: 'hang' } }] } });
  try {
    const traceId = 'aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb';
    const ac = new AbortController();
    const p = rig.client.callTool({ name: 'chat_with_grok4', arguments: { instructions: 'x', session_id: 'cx' }, _meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } }, undefined, { signal: ac.signal }).catch(() => {});
    await rig.fake.journal.waitFor((e) => e.route === 'chat.xai', patience(5_000));
    ac.abort();
    await p;
    const spans = await flushed(traceId, 'tools/call chat_with_grok4');
    const root = spans.find((s) => s.name === 'tools/call chat_with_grok4')!;
    assert.equal(root.attributes['second_brain.cancelled'], true);
    assert.ok(root.events.some((e) => e.name === 'second_brain.cancelled'));
    const genai = spans.find((s) => s.name === 'chat grok-4')!;
    assert.equal(genai.attributes['second_brain.cancelled'], true);
  } finally {
    await rig.close();
  }
});
