/**
 * Thin helpers over @opentelemetry/api used by the call flow. Without an SDK registered
 * they are no-ops, so unit tests and the library entry point need no telemetry set-up.
 */
import {
  context, propagation, SpanKind, SpanStatusCode, trace,
  type Attributes, type Context, type Span,
} from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE, ATTR_SB_CANCELLED, ATTR_SB_CANCEL_REASON, EVENT_SB_CANCELLED,
  ATTR_SB_RATELIMIT_PREFIX,
} from './semconv.ts';
import { isAbortError, isSbError } from '../errors.ts';
import { redactString } from '../logging/redact.ts';

export const TRACER_NAME = 'second-brain';

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** Extracts a parent context from MCP `params._meta` (`traceparent`, `tracestate`). */
export function contextFromMeta(meta: Record<string, unknown> | undefined): Context {
  if (!meta || typeof meta.traceparent !== 'string') return context.active();
  const carrier: Record<string, string> = { traceparent: meta.traceparent };
  if (typeof meta.tracestate === 'string') carrier.tracestate = meta.tracestate;
  return propagation.extract(context.active(), carrier);
}

/** Low-cardinality error.type: the SbError code, else the error class name. */
export function errorType(err: unknown): string {
  if (isSbError(err)) return err.code;
  if (err instanceof Error) return err.name || 'Error';
  return '_OTHER';
}

/** Marks a span as cancelled: an event and an attribute (undici leaves aborted requests UNSET). */
export function markCancelled(span: Span, reason = 'client_cancel'): void {
  span.setAttribute(ATTR_SB_CANCELLED, true);
  span.setAttribute(ATTR_SB_CANCEL_REASON, reason);
  span.addEvent(EVENT_SB_CANCELLED, { [ATTR_SB_CANCEL_REASON]: reason });
}

/** Longest status message kept on a span; the full message is in the logs. */
const STATUS_MESSAGE_MAX_CHARS = 200;

/**
 * Records an error on the span: status ERROR and error.type; cancellations are marked too.
 * The status message is redacted before it is cut: upstream errors can echo the request,
 * key included, and cutting first could leave a key fragment the patterns no longer match.
 */
export function recordError(span: Span, err: unknown): void {
  if (isAbortError(err)) markCancelled(span, isSbError(err) ? 'cancelled' : 'abort');
  span.setAttribute(ATTR_ERROR_TYPE, errorType(err));
  const message = err instanceof Error ? err.message : String(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: redactString(message).slice(0, STATUS_MESSAGE_MAX_CHARS) });
}

/** Runs `fn` inside a new span (INTERNAL unless `kind` is given), ending it however `fn` ends. */
export async function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** The currently active span (a non-recording one when there is none). */
export function activeSpan(): Span {
  return trace.getActiveSpan() ?? trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 });
}

const RATE_LIMIT_HEADERS = [
  'x-ratelimit-limit-requests', 'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests', 'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens',
  'retry-after', 'retry-after-ms',
];

/** The span attribute for a rate-limit header: `x-ratelimit-remaining-requests` → `second_brain.ratelimit.remaining_requests`. */
export function rateLimitAttribute(header: string): string {
  return ATTR_SB_RATELIMIT_PREFIX + header.toLowerCase().replace(/^x-ratelimit-/, '').replace(/-/g, '_');
}

/** Copies rate-limit headers onto the span as `second_brain.ratelimit.<header>`. */
export function recordRateLimitHeaders(span: Span, headers: Headers | undefined | null): void {
  if (!headers) return;
  for (const h of RATE_LIMIT_HEADERS) {
    const v = headers.get(h);
    if (v !== null) span.setAttribute(rateLimitAttribute(h), v);
  }
}

export { SpanKind, SpanStatusCode, context, trace };
export type { Span, Attributes, Context };
