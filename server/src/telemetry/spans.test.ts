/**
 * The span helpers against the real pipeline (startTelemetry with an in-memory exporter):
 * the withSpan tree, parenting from an MCP `_meta.traceparent`, cancellation marks, the
 * undici CLIENT spans with rate-limit headers, and no secret in any exported attribute.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { registerSecret } from '../logging/redact.ts';
import { SbError, ErrorCode } from '../errors.ts';
import { SpanKind, contextFromMeta, markCancelled, withSpan } from './spans.ts';
import { startTelemetry, type Telemetry } from './start.ts';
import { patience } from '@second-brain/harness';

const SENTINEL = 'sentinel-key-7f3a9c1e5b';
const TIMEOUT_MS = patience(15_000);

let home: string;
let server: Server;
let base: string;
let telemetry: Telemetry;
const memory = new InMemorySpanExporter();

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'sb-spans-'));
  registerSecret(SENTINEL);
  server = createServer((req, res) => {
    req.resume();
    res.setHeader('x-ratelimit-remaining-requests', '17');
    res.setHeader('x-ratelimit-remaining-tokens', '9000');
    res.setHeader('retry-after', '2');
    res.statusCode = req.url?.startsWith('/fail') ? 429 : 200;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  telemetry = startTelemetry({ home, serviceVersion: '0.0.0-test', env: { OTEL_BSP_SCHEDULE_DELAY: '50' }, exporters: { spans: memory } });
});

after(async () => {
  await telemetry.shutdown(1_000);
  await new Promise((r) => server.close(r));
  rmSync(home, { recursive: true, force: true });
});

async function finished(): Promise<ReadableSpan[]> {
  await telemetry.forceFlush(2_000);
  return memory.getFinishedSpans();
}

describe('span helpers', { timeout: TIMEOUT_MS }, () => {
  test('withSpan builds a parent/child tree and ends spans however fn ends', async () => {
    memory.reset();
    await withSpan('tools/call ask_tree', { kind: SpanKind.SERVER }, async () => {
      await withSpan('context.gather', {}, async () => {});
      await assert.rejects(withSpan('chat o3', { kind: SpanKind.CLIENT }, async () => {
        throw new SbError(ErrorCode.UPSTREAM_TIMEOUT, 'Failed to get an answer: upstream timed out.');
      }));
    });
    const spans = await finished();
    const root = spans.find((s) => s.name === 'tools/call ask_tree')!;
    const gather = spans.find((s) => s.name === 'context.gather')!;
    const chat = spans.find((s) => s.name === 'chat o3')!;
    assert.ok(root && gather && chat, 'all three spans exported');
    assert.equal(root.parentSpanContext, undefined);
    assert.equal(gather.parentSpanContext?.spanId, root.spanContext().spanId);
    assert.equal(chat.parentSpanContext?.spanId, root.spanContext().spanId);
    assert.equal(chat.spanContext().traceId, root.spanContext().traceId);
    assert.equal(root.kind, SpanKind.SERVER);
    assert.equal(chat.status.code, 2);
    assert.equal(chat.attributes['error.type'], ErrorCode.UPSTREAM_TIMEOUT);
  });

  test('contextFromMeta parents the server span on the client traceparent', async () => {
    memory.reset();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    await withSpan('tools/call ask_meta', { kind: SpanKind.SERVER, parent: contextFromMeta({ traceparent: `00-${traceId}-${parentId}-01` }) }, async () => {});
    const [span] = (await finished()).filter((s) => s.name === 'tools/call ask_meta');
    assert.equal(span!.spanContext().traceId, traceId);
    assert.equal(span!.parentSpanContext?.spanId, parentId);
    assert.equal(span!.parentSpanContext?.isRemote, true);
  });

  test('markCancelled and a cancelled error leave an attribute and an event', async () => {
    memory.reset();
    await withSpan('tools/call ask_cancel', {}, async (span) => {
      markCancelled(span, 'client_cancel');
    });
    await assert.rejects(withSpan('chat cancelled', {}, async () => {
      throw new SbError(ErrorCode.CANCELLED, 'The call was cancelled.');
    }));
    const spans = await finished();
    const a = spans.find((s) => s.name === 'tools/call ask_cancel')!;
    assert.equal(a.attributes['second_brain.cancelled'], true);
    assert.equal(a.attributes['second_brain.cancel.reason'], 'client_cancel');
    assert.ok(a.events.some((e) => e.name === 'second_brain.cancelled'));
    const b = spans.find((s) => s.name === 'chat cancelled')!;
    assert.equal(b.attributes['second_brain.cancelled'], true);
    assert.equal(b.attributes['error.type'], ErrorCode.CANCELLED);
  });

  test('fetch becomes an HTTP CLIENT child span with the rate-limit headers', async () => {
    memory.reset();
    await withSpan('chat gpt-4.1', { kind: SpanKind.CLIENT }, async () => {
      const r = await fetch(`${base}/fail/v1/responses`, { method: 'POST', body: '{}' });
      await r.text();
    });
    const spans = await finished();
    const chat = spans.find((s) => s.name === 'chat gpt-4.1')!;
    const http = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === 'POST')!;
    assert.ok(http, 'undici span exported');
    assert.equal(http.parentSpanContext?.spanId, chat.spanContext().spanId);
    assert.equal(http.attributes['http.response.status_code'], 429);
    assert.equal(http.attributes['second_brain.ratelimit.remaining_requests'], '17');
    assert.equal(http.attributes['second_brain.ratelimit.remaining_tokens'], '9000');
    assert.equal(http.attributes['second_brain.ratelimit.retry_after'], '2');
  });

  test('no exported attribute, event or status holds a key, even from error messages and URLs', async () => {
    memory.reset();
    await assert.rejects(withSpan('chat leaky', { kind: SpanKind.CLIENT }, async (span) => {
      span.setAttribute('second_brain.debug.note', `retrying with key ${SENTINEL}`);
      span.addEvent('second_brain.retry', { 'second_brain.retry.reason': `401 for key=${SENTINEL}` });
      span.recordException(new Error(`upstream said: invalid api key ${SENTINEL}`));
      const r = await fetch(`${base}/v1/models?key=${SENTINEL}&alt=json`, { headers: { authorization: `Bearer ${SENTINEL}`, 'x-api-key': SENTINEL } });
      await r.text();
      const r2 = await fetch(`${base}/v1beta/${SENTINEL}/models`);
      await r2.text();
      throw new Error(`Incorrect API key provided: ${SENTINEL}`);
    }));
    const spans = await finished();
    assert.ok(spans.length >= 3);
    const dump = JSON.stringify(spans.map((s) => ({ a: s.attributes, e: s.events, st: s.status, l: s.links, n: s.name })));
    assert.ok(!dump.includes(SENTINEL), `a key leaked into: ${dump.slice(dump.indexOf(SENTINEL) - 80, dump.indexOf(SENTINEL) + 40)}`);
    assert.ok(!/authorization|x-api-key/i.test(Object.keys(Object.assign({}, ...spans.map((s) => s.attributes))).join(' ')));
    const get = spans.find((s) => String(s.attributes['url.full'] ?? '').includes('/v1/models'))!;
    assert.match(String(get.attributes['url.full']), /key=\[redacted\]&alt=json/);
    const leaky = spans.find((s) => s.name === 'chat leaky')!;
    assert.match(leaky.status.message ?? '', /\[redacted\]/);
  });
});
