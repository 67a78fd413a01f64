import { randomBytes } from 'node:crypto';

/**
 * W3C trace context for `_meta.traceparent`: the scenario's root span parents the
 * server's spans, so one trace shows the whole experiment.
 */
export interface SpanContext {
  traceId: string;
  spanId: string;
}

export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

export function newSpanId(): string {
  return randomBytes(8).toString('hex');
}

/** `00-<trace>-<span>-01` (sampled). */
export function traceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-01`;
}
