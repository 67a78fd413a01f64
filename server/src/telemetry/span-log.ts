/**
 * At the most verbose log level (`trace`), every span is also logged when it starts and
 * when it ends, with its ids, duration and status: the same timeline the traces hold, in
 * the stderr log a user can read without a collector. It is what "turn on debug output"
 * means for this server, and so it is also what KI-10 and KI-12 load the log path with
 * (a client that never reads stderr, a full pipe).
 *
 * Cost below `trace`: one level check per span start and end. At `trace`: one record each,
 * through the same bounded, never-blocking writer as every other record.
 */
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { logger } from '../logging/logger.ts';

/** `component` of the records written here. */
export const SPAN_LOG_COMPONENT = 'span';
/** Attributes copied onto an "ended" record, at most, and characters per value. */
const MAX_ATTRIBUTES = 24;
const MAX_VALUE_CHARS = 200;

function copyAttributes(attributes: ReadableSpan['attributes']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(attributes)) {
    if (n++ >= MAX_ATTRIBUTES) break;
    out[k] = typeof v === 'string' && v.length > MAX_VALUE_CHARS ? `${v.slice(0, MAX_VALUE_CHARS)}…` : v;
  }
  return out;
}

export class SpanLogProcessor implements SpanProcessor {
  onStart(span: Span, _parentContext: Context): void {
    const log = logger();
    if (!log.isLevelEnabled('trace')) return;
    const sc = span.spanContext();
    log.trace({
      component: SPAN_LOG_COMPONENT, span: span.name, trace_id: sc.traceId, span_id: sc.spanId,
      parent_span_id: span.parentSpanContext?.spanId,
    }, `span started: ${span.name}`);
  }

  onEnd(span: ReadableSpan): void {
    const log = logger();
    if (!log.isLevelEnabled('trace')) return;
    const sc = span.spanContext();
    const [s, ns] = span.duration;
    log.trace({
      component: SPAN_LOG_COMPONENT, span: span.name, trace_id: sc.traceId, span_id: sc.spanId,
      parent_span_id: span.parentSpanContext?.spanId, duration_ms: Math.round((s * 1e3 + ns / 1e6) * 10) / 10,
      status: span.status.code, ...(span.status.message ? { status_message: span.status.message } : {}),
      attributes: copyAttributes(span.attributes),
    }, `span ended: ${span.name}`);
  }

  forceFlush(): Promise<void> { return Promise.resolve(); }
  shutdown(): Promise<void> { return Promise.resolve(); }
}
