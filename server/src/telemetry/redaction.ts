/**
 * The last line of defence against secrets in exported spans: every string attribute,
 * event attribute, link attribute and status message passes through the same value-based
 * redaction as the logs (`redactString`: key patterns plus the registered API keys),
 * whoever set it: our code, the undici instrumentation (url.full), or an exception event.
 *
 * It runs at export time, in the batch, not in span.end(): the request path pays nothing,
 * and a span is copied only when something in it actually changed.
 */
import type { Attributes, AttributeValue, Link, SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import { redactString } from '../logging/redact.ts';

/** Shorter strings cannot hold a key the patterns or registerSecret accept. */
const MIN_SECRET_CHARS = 6;

function redactValue(v: AttributeValue | undefined): AttributeValue | undefined {
  if (typeof v === 'string') return v.length < MIN_SECRET_CHARS ? v : redactString(v);
  if (Array.isArray(v)) {
    let changed = false;
    const out = v.map((x) => {
      if (typeof x !== 'string' || x.length < MIN_SECRET_CHARS) return x;
      const r = redactString(x);
      if (r !== x) changed = true;
      return r;
    });
    return changed ? (out as AttributeValue) : v;
  }
  return v;
}

/** A redacted copy of `attrs`, or undefined when nothing needed redacting. */
export function redactAttributes(attrs: Attributes | undefined): Attributes | undefined {
  if (!attrs) return undefined;
  let out: Attributes | undefined;
  for (const key of Object.keys(attrs)) {
    const v = attrs[key];
    const r = redactValue(v);
    if (r !== v) {
      out ??= { ...attrs };
      out[key] = r;
    }
  }
  return out;
}

/** The span itself when it holds no secret, else a redacted read-only copy. */
export function redactSpan(span: ReadableSpan): ReadableSpan {
  const attributes = redactAttributes(span.attributes);
  let events: TimedEvent[] | undefined;
  span.events.forEach((e, i) => {
    const a = redactAttributes(e.attributes);
    if (a) {
      events ??= [...span.events];
      events[i] = { ...e, attributes: a };
    }
  });
  let links: Link[] | undefined;
  span.links.forEach((l, i) => {
    const a = redactAttributes(l.attributes);
    if (a) {
      links ??= [...span.links];
      links[i] = { ...l, attributes: a };
    }
  });
  const message = span.status.message;
  const redactedMessage = message && message.length >= MIN_SECRET_CHARS ? redactString(message) : message;
  const statusChanged = redactedMessage !== message;
  if (!attributes && !events && !links && !statusChanged) return span;

  const ctx: SpanContext = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => ctx,
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: statusChanged ? { ...span.status, message: redactedMessage } : span.status,
    attributes: attributes ?? span.attributes,
    links: links ?? span.links,
    events: events ?? span.events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** Redacts a URL for a span attribute: secrets in the query or path become [redacted]. */
export function redactUrl(url: string): string {
  return redactString(url);
}
