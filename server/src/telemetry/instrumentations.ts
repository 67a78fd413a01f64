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
import { readFileSync } from 'node:fs';
import { createRequire, registerHooks } from 'node:module';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MeterProvider, Span, TracerProvider } from '@opentelemetry/api';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import type { UndiciInstrumentation as UndiciInstrumentationType, UndiciRequest, UndiciResponse } from '@opentelemetry/instrumentation-undici';
import { ATTR_URL_FULL, ATTR_URL_QUERY } from './semconv.ts';
import { rateLimitAttribute } from './spans.ts';
import { redactUrl } from './redaction.ts';

const require = createRequire(import.meta.url);

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

/**
 * Loads @opentelemetry/instrumentation-undici. When the installed tree hoists it next to
 * an @opentelemetry/api older than the 1.10 its own @opentelemetry/instrumentation needs
 * (the import then fails: no `logs` export), its API imports are pointed at this
 * package's copy for the duration of the load. Both copies share one global registry, so
 * the result is identical; with a consistent install the redirect is never installed.
 */
function loadUndiciInstrumentation(): typeof UndiciInstrumentationType {
  type Module = { UndiciInstrumentation: typeof UndiciInstrumentationType };
  const entry = require.resolve('@opentelemetry/instrumentation-undici');
  if (!undiciSeesOldApi(entry)) return (require('@opentelemetry/instrumentation-undici') as Module).UndiciInstrumentation;

  const ownApi = pathToFileURL(require.resolve('@opentelemetry/api')).href;
  const undiciRoot = pathToFileURL(entry.slice(0, entry.lastIndexOf(`${sep}dist${sep}`) + 1)).href;
  const hook = registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === '@opentelemetry/api' && context.parentURL?.startsWith(undiciRoot)) {
        return { url: ownApi, format: 'commonjs', shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
  try {
    return (require('@opentelemetry/instrumentation-undici') as Module).UndiciInstrumentation;
  } finally {
    hook.deregister();
  }
}

/**
 * Whether the @opentelemetry/api that instrumentation-undici's own @opentelemetry/instrumentation
 * would load is older than 1.10. Resolved from that package's root directory and read from
 * package.json, so neither the module nor a resolution from its dist/ files gets cached.
 */
function undiciSeesOldApi(undiciEntry: string): boolean {
  try {
    const instEntry = createRequire(undiciEntry).resolve('@opentelemetry/instrumentation');
    const instRoot = instEntry.slice(0, instEntry.lastIndexOf(`${sep}dist${sep}`));
    const apiEntry = createRequire(join(instRoot, 'package.json')).resolve('@opentelemetry/api');
    const apiRoot = apiEntry.slice(0, apiEntry.lastIndexOf(`${sep}@opentelemetry${sep}api${sep}`) + `${sep}@opentelemetry${sep}api`.length);
    const version = (JSON.parse(readFileSync(join(apiRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const [major, minor] = version.split('.').map(Number);
    return major === 1 && minor! < 10;
  } catch {
    return false;
  }
}

export interface Instrumentations {
  disable(): void;
}

/** Creates, wires and enables both instrumentations. */
export function enableInstrumentations(tracerProvider: TracerProvider | undefined, meterProvider: MeterProvider | undefined): Instrumentations {
  const UndiciInstrumentation = loadUndiciInstrumentation();
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
