/**
 * At `trace` every span is logged when it starts and when it ends (with its ids and
 * duration); below `trace` nothing is, and the cost is a level check.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { createLogger, logger, setLogger } from '../logging/logger.ts';
import { SpanLogProcessor } from './span-log.ts';

const previous = logger();
afterEach(() => setLogger(previous));

function capture(level: string): string[] {
  const lines: string[] = [];
  setLogger(createLogger({ level, destination: { write: (s: string) => lines.push(s) } }));
  return lines;
}

function runSpan(): { traceId: string; spanId: string } {
  const provider = new TracerProvider({ spanProcessors: [new SpanLogProcessor()] });
  const span = provider.getTracer('test').startSpan('context.prepare', { attributes: { 'sb.files.inline': 3, 'long.value': 'x'.repeat(500) } });
  span.end();
  return span.spanContext();
}

test('at trace, a span start and end are logged with ids, duration and attributes', () => {
  const lines = capture('trace');
  const ids = runSpan();
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(records.map((r) => r.msg), ['span started: context.prepare', 'span ended: context.prepare']);
  for (const r of records) {
    assert.equal(r.trace_id, ids.traceId);
    assert.equal(r.span_id, ids.spanId);
    assert.equal(r.component, 'span');
  }
  const ended = records[1]!;
  assert.equal(typeof ended.duration_ms, 'number');
  const attributes = ended.attributes as Record<string, unknown>;
  assert.equal(attributes['sb.files.inline'], 3);
  assert.ok(String(attributes['long.value']).length < 500, 'long attribute values are cut');
});

test('below trace, spans are not logged', () => {
  const lines = capture('debug');
  runSpan();
  assert.deepEqual(lines, []);
});
