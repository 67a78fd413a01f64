/**
 * The two instrumentations: undici (global fetch, which the openai SDK uses, so every
 * upstream request becomes an HTTP CLIENT span with http.client.request.duration) and the
 * Node.js runtime metrics (event-loop delay and utilisation, GC, heap).
 *
 * Undici spans record the rate-limit response headers (`x-ratelimit-remaining-*`,
 * `retry-after`, `retry-after-ms`) and never any request header, so `authorization` and
 * API keys cannot reach them; the URL is recorded with credential-looking query values
 * replaced (Gemini-style `?key=`), and every exported attribute is redacted again later.
 */
import type { MeterProvider, Span, TracerProvider } from '@opentelemetry/api';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { UndiciInstrumentation, type UndiciRequest, type UndiciResponse } from '@opentelemetry/instrumentation-undici';
import { ATTR_URL_FULL, ATTR_URL_QUERY } from './semconv.ts';
import { rateLimitAttribute } from './spans.ts';
import { redactUrl } from './redaction.ts';

/** Query parameters whose values are credentials. */
const SECRET_QUERY_PARAM = /(^|[_-])(key|api[_-]?key|token|access[_-]?token|secret|sig|signature|password|auth)$/i;
/** A cheap look at the raw path first: most requests carry no such parameter and skip the parse. */
const SECRET_QUERY_HINT = /[?&][^=&#]*(key|token|secret|sig|password|auth)[^=&#]*=/i;

/** The response headers recorded on HTTP client spans. */
function isRateLimitHeader(name: string): boolean {
  return name.startsWith('x-ratelimit-remaining-') || name === 'retry-after' || name === 'retry-after-ms';
}

/**
 * url.full and url.query with credential-looking query values replaced, or undefined when
 * the query has none (the instrumentation's own values stand; the export-time redaction
 * still checks them for key patterns).
 */
export function safeUrlAttributes(origin: string, path: string): Record<string, string> | undefined {
  if (!SECRET_QUERY_HINT.test(path)) return undefined;
  let url: URL;
  try { url = new URL(path, origin); } catch { return undefined; }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_QUERY_PARAM.test(name)) url.searchParams.set(name, '[redacted]');
  }
  const readable = (s: string) => redactUrl(s.replaceAll('%5Bredacted%5D', '[redacted]'));
  return { [ATTR_URL_FULL]: readable(url.toString()), [ATTR_URL_QUERY]: readable(url.search) };
}

/** Copies rate-limit headers from an undici response (flat [name, value, …] Buffers) onto the span. */
export function recordRateLimitResponseHeaders(span: Span, headers: ReadonlyArray<Buffer | string>): void {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!.toString().toLowerCase();
    if (isRateLimitHeader(name)) span.setAttribute(rateLimitAttribute(name), headers[i + 1]!.toString());
  }
}

export interface Instrumentations {
  disable(): void;
}

/** Creates, wires and enables both instrumentations. */
export function enableInstrumentations(tracerProvider: TracerProvider | undefined, meterProvider: MeterProvider | undefined): Instrumentations {
    // Constructed enabled: undici reads `enabled` from its config on every request, so an
  // instrumentation built disabled and enabled later would still skip every request.
  const undici = new UndiciInstrumentation({
    startSpanHook: (request: UndiciRequest) => safeUrlAttributes(request.origin, request.path) ?? {},
    responseHook: (span: Span, { response }: { request: UndiciRequest; response: UndiciResponse }) => {
      recordRateLimitResponseHeaders(span, response.headers);
    },
  });
  const runtime = new RuntimeNodeInstrumentation({ monitoringPrecision: 20 });
  for (const inst of [undici, runtime]) {
    if (tracerProvider) inst.setTracerProvider(tracerProvider);
    if (meterProvider) inst.setMeterProvider(meterProvider);
  }
  // Runtime metrics without a MeterProvider would only cost; undici also feeds
  // http.client.request.duration, so it stays on when either signal runs.
  if (!meterProvider) runtime.disable();
  if (!tracerProvider && !meterProvider) undici.disable();
  return {
    disable() {
      undici.disable();
      runtime.disable();
    },
  };
}
