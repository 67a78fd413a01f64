import { addAbortListener } from 'node:events';
import { rateLimitHeaders, retryAfterHeaders } from './account.ts';
import type { AdmitResult } from './account.ts';
import { fullLength, shapedBody } from './body.ts';
import type { BodyShape } from './body.ts';
import { ProviderHttpError } from './context.ts';
import type { FakeRuntime, RouteContext, RouteDefinition, RouteResult } from './context.ts';
import { providerErrorResponse } from './dialects.ts';
import { insufficientQuota, missingApiKey, rateLimited, serverError } from './errors.ts';
import type { ProviderError } from './errors.ts';
import { findFault, sampleLatencyMs } from './faults.ts';
import type { SelectedFault } from './faults.ts';
import type { JournalEntry } from './journal.ts';
import { UPLOAD_ROUTES } from './routes.ts';
import { sleep, untilAborted } from './sleep.ts';
import { checkEventFrames, checkRequest, checkResponse } from './spec-check.ts';
import { FAKE_DEFAULTS } from './defaults.ts';

/**
 * The one path every fake request takes: journal entry, account admission, faults,
 * the route handler, rate-limit headers, and body shaping. Route handlers only model
 * provider state; everything that makes the fake misbehave lives here.
 */

const MODEL_ROUTES = new Set(['responses.create', 'chat.openai', 'chat.xai', 'chat.gemini']);

const HTML_ERROR_PAGE =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n';

export async function dispatch(runtime: FakeRuntime, def: RouteDefinition, request: Request, params: Record<string, string>): Promise<Response> {
  const { clock, journal } = runtime;
  const startMs = clock.nowMs();
  const startWallMs = clock.wallMs();
  const url = new URL(request.url);
  const key = apiKeyOf(request, url);
  const body = await readBody(request);
  const requestId = runtime.state.ids.next('req_');
  const entry = journal.start({
    requestId,
    route: def.route,
    provider: def.provider,
    method: request.method,
    path: url.pathname.slice(runtime.basePaths[def.provider].length) || '/',
    routeCall: runtime.routeCalls.next(def.route),
    startMs,
    startWallMs,
    keyLast4: key ? key.slice(-4) : null,
    call: request.headers.get('x-sb-call'),
    ...keyFields(body.json, body.form, params),
  });
  // Taken in the same tick as the journal entry a driver may be waiting on (faults.ts).
  const faultsInForce = runtime.faults.inForce();
  const tracker = trackAbort(runtime, entry, request.signal);
  // Every error goes out in the provider's own wire shape (dialects.ts).
  const errorResponse = (error: ProviderError, headers?: Record<string, string>, retryAfterMs?: number): Response =>
    providerErrorResponse(def.provider, error, headers, { geminiErrorShape: runtime.settings.geminiErrorShape, retryAfterMs });

  const finishWith = async (response: Response, error?: ProviderError): Promise<Response> => {
    // A request the client abandoned got no response; keep its status unknown.
    if (entry.aborted) return response;
    const checked = await checkResponse(runtime, def, entry, response);
    if (checked !== response) {
      response = checked;
      error = undefined;
      entry.errorCode = 'fake_spec_violation';
    }
    entry.status = response.type === 'error' ? 0 : response.status;
    if (error) entry.errorCode = error.code;
    entry.respondedMs = clock.nowMs();
    journal.emit(entry, 'response');
    if (!tracker.streaming) tracker.end();
    return response;
  };

  try {
    if (!key && runtime.settings.requireApiKey) {
      const error = missingApiKey();
      return finishWith(errorResponse(error, baseHeaders(requestId)), error);
    }
    if (body.unreadable && (await clientWentAway(request.signal))) {
      // The client went away mid-body: journalled as aborted, nothing to validate or answer.
      tracker.abort();
      return Response.error();
    }
    const invalid = await checkRequest(runtime, def, entry, { url, json: body.json, form: body.form });
    if (invalid) {
      entry.errorCode = 'spec_violation';
      for (const [name, value] of Object.entries(baseHeaders(requestId))) invalid.headers.set(name, value);
      return finishWith(invalid);
    }
    const isUpload = UPLOAD_ROUTES.includes(def.route);
    const tokens = MODEL_ROUTES.has(def.route) ? Math.ceil(body.size / 4) : 0;
    const admit = runtime.account.admit(key ?? 'anonymous', tokens, isUpload);
    if (!admit.ok) {
      entry.throttled = admit.reason;
      const error = rateLimited(throttleMessage(admit, entry.model));
      return finishWith(errorResponse(error, { ...baseHeaders(requestId, admit), ...retryAfterHeaders(admit.retryAfterMs) }, admit.retryAfterMs), error);
    }

    const faults = runtime.faults.select(def.route, { model: entry.model, fileName: entry.fileName, keyLast4: entry.keyLast4 ?? undefined }, faultsInForce);
    entry.faults = faults.map((f) => f.fault.type);

    const delayMs = latencyOf(faults, isUpload ? runtime.account.uploadLatencyMs : 0, admit.degradeMultiplier);
    if (delayMs > 0 && !(await sleep(delayMs, request.signal))) return finishWith(Response.error());
    if (findFault(faults, 'hang')) {
      await untilAborted(request.signal);
      return finishWith(Response.error());
    }

    const replaced = replacementFor(faults, admit, requestId, errorResponse);
    if (replaced) return finishWith(replaced.response, replaced.error);

    const ctx: RouteContext = {
      request,
      params,
      url,
      route: def.route,
      provider: def.provider,
      json: body.json,
      jsonInvalid: body.jsonInvalid,
      form: body.form,
      entry,
      faults,
      runtime,
    };
    let result: RouteResult;
    try {
      result = await def.handle(ctx);
    } catch (error) {
      if (!(error instanceof ProviderHttpError)) throw error;
      return finishWith(errorResponse(error.error, baseHeaders(requestId, admit)), error.error);
    }
    const networkError = findFault(faults, 'network-error');
    if (networkError?.afterHandler) return finishWith(Response.error());
    if (!(result instanceof Response)) {
      const refused = await checkEventFrames(runtime, def, entry, result.sse, new Headers(baseHeaders(requestId)));
      if (refused) return finishWith(refused);
    }
    return finishWith(await shapeResult(runtime, result, faults, admit, requestId, request.signal, tracker));
  } catch (error) {
    if (request.signal.aborted) return finishWith(Response.error());
    const failure = serverError(500, `The fake failed while handling the request: ${(error as Error)?.message ?? String(error)}`);
    return finishWith(errorResponse(failure, baseHeaders(requestId)), failure);
  }
}

interface AbortTracker {
  /** Set when the body is streamed, so the entry ends with the body, not the headers. */
  streaming: boolean;
  end(): void;
  abort(): void;
}

function trackAbort(runtime: FakeRuntime, entry: JournalEntry, signal: AbortSignal): AbortTracker {
  const { clock, journal } = runtime;
  let done = false;
  const onAbort = () => tracker.abort();
  const tracker: AbortTracker = {
    streaming: false,
    end() {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      entry.endMs = clock.nowMs();
      entry.endWallMs = clock.wallMs();
      journal.emit(entry, 'end');
    },
    abort() {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      entry.aborted = true;
      entry.abortedAtMs = entry.endMs = clock.nowMs();
      entry.abortedAtWallMs = entry.endWallMs = clock.wallMs();
      journal.emit(entry, 'abort');
    },
  };
  if (signal.aborted) queueMicrotask(onAbort);
  else signal.addEventListener('abort', onAbort, { once: true });
  return tracker;
}

function latencyOf(faults: readonly SelectedFault[], baseMs: number, accountMultiplier: number): number {
  let total = baseMs;
  let multiplier = accountMultiplier;
  for (const { fault, prng } of faults) {
    if (fault.type === 'latency') total += sampleLatencyMs(fault, prng);
    if (fault.type === 'degrade') multiplier *= fault.multiplier;
  }
  return total * multiplier;
}

type ErrorResponder = (error: ProviderError, headers?: Record<string, string>, retryAfterMs?: number) => Response;

function replacementFor(
  faults: readonly SelectedFault[],
  admit: Extract<AdmitResult, { ok: true }>,
  requestId: string,
  errorResponse: ErrorResponder,
): { response: Response; error?: ProviderError } | undefined {
  for (const { fault } of faults) {
    switch (fault.type) {
      case 'network-error':
        if (!fault.afterHandler) return { response: Response.error() };
        break;
      case 'status': {
        const is5xx = fault.status >= 500;
        const error: ProviderError = {
          status: fault.status,
          message: fault.message ?? (is5xx ? serverError(fault.status).message : `Fake error ${fault.status}.`),
          type: fault.errorType ?? (is5xx ? 'server_error' : 'invalid_request_error'),
          param: fault.param ?? null,
          code: fault.code === undefined ? (is5xx ? 'server_error' : null) : fault.code,
        };
        return { response: errorResponse(error, baseHeaders(requestId, admit)), error };
      }
      case 'rate-limit': {
        const quota = fault.code === 'insufficient_quota';
        const error = quota ? insufficientQuota() : rateLimited('Rate limit reached for requests. Please try again later.');
        const retryMs = fault.retryAfterMs ?? (fault.retryAfterS !== undefined ? fault.retryAfterS * 1000 : 1000);
        const headers: Record<string, string> = { ...baseHeaders(requestId, admit) };
        headers['x-ratelimit-remaining-requests'] = '0';
        // As documented: `retry-after` (integer seconds ≥ 1) with `retry-after-ms` alongside;
        // both absent on a 429 that needs the user to act (quota, or `omitRetryAfter`).
        const stated = !quota && !fault.omitRetryAfter;
        if (stated) Object.assign(headers, retryAfterHeaders(retryMs));
        return { response: errorResponse(error, headers, stated ? retryMs : undefined), error };
      }
      case 'html': {
        const headers = new Headers(baseHeaders(requestId, admit));
        headers.set('content-type', 'text/html');
        return { response: new Response(HTML_ERROR_PAGE, { status: fault.status ?? 200, headers }) };
      }
      default:
        break;
    }
  }
  return undefined;
}

async function shapeResult(
  runtime: FakeRuntime,
  result: RouteResult,
  faults: readonly SelectedFault[],
  admit: Extract<AdmitResult, { ok: true }>,
  requestId: string,
  signal: AbortSignal,
  tracker: AbortTracker,
): Promise<Response> {
  const malformed = findFault(faults, 'malformed-json');
  const stall = findFault(faults, 'stall-after-headers');
  const drip = findFault(faults, 'drip');
  const truncate = findFault(faults, 'truncate');
  const headers = new Headers(baseHeaders(requestId, admit));
  let status: number;
  let frames: string[];
  if (result instanceof Response) {
    if (!malformed && !stall && !drip && !truncate) {
      for (const [name, value] of headers) result.headers.set(name, value);
      return result;
    }
    status = result.status;
    for (const [name, value] of result.headers) if (name !== 'content-length') headers.set(name, value);
    const text = await result.text();
    frames = [malformed ? text.slice(0, Math.max(1, Math.floor(text.length / 2))) : text];
  } else {
    status = 200;
    headers.set('content-type', 'text/event-stream; charset=utf-8');
    headers.set('cache-control', 'no-cache');
    frames = malformed ? [result.sse[0] ?? '', 'data: {"type":"response.output_text.delta","delta":\n\n'] : result.sse;
  }
  if (malformed?.status !== undefined) status = malformed.status;
  if (stall?.status !== undefined) status = stall.status;
  const shape: BodyShape = {
    frameIntervalMs: runtime.settings.streamEventIntervalMs,
    drip: drip ? { intervalMs: drip.intervalMs, chunkBytes: drip.chunkBytes } : undefined,
    truncate: truncate ? { afterEvents: truncate.afterEvents, afterBytes: truncate.afterBytes, mode: truncate.mode } : undefined,
    stall: stall !== undefined,
  };
  if (truncate?.mode === 'error') headers.set('content-length', String(fullLength(frames)));
  // A close-delimited body that the client abandons crashes undici under in-process
  // interception; chunked framing (what the real APIs send) keeps every body delimited.
  else headers.set('transfer-encoding', 'chunked');
  tracker.streaming = true;
  const stream = shapedBody(frames, shape, signal, (outcome) => (outcome === 'abort' ? tracker.abort() : tracker.end()));
  return new Response(stream, { status, headers });
}

function baseHeaders(requestId: string, admit?: AdmitResult): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': requestId, 'openai-processing-ms': '1' };
  if (admit) Object.assign(headers, rateLimitHeaders(admit.state));
  return headers;
}

function throttleMessage(admit: Extract<AdmitResult, { ok: false }>, model: string | undefined): string {
  const seconds = (admit.retryAfterMs / 1000).toFixed(3).replace(/\.?0+$/, '');
  const what = admit.reason === 'tokens' ? 'tokens per min (TPM)' : 'requests per min (RPM)';
  const limit = admit.reason === 'tokens' ? admit.state.limitTokens : admit.state.limitRequests;
  return `Rate limit reached for ${model ?? 'default'} in organization org-fake on ${what}: Limit ${limit}, Used ${limit}, Requested 1. Please try again in ${seconds}s.`;
}

function apiKeyOf(request: Request, url: URL): string | null {
  const auth = request.headers.get('authorization');
  const bearer = auth?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  return bearer || request.headers.get('api-key') || request.headers.get('x-goog-api-key') || url.searchParams.get('key') || null;
}

interface ParsedBody {
  json: Record<string, unknown> | undefined;
  jsonInvalid: boolean;
  form: FormData | undefined;
  size: number;
  /** Reading the body failed (the stream ended early or errored), as opposed to a body that was read and is malformed. */
  unreadable: boolean;
}

async function readBody(request: Request): Promise<ParsedBody> {
  const out: ParsedBody = { json: undefined, jsonInvalid: false, form: undefined, size: 0, unreadable: false };
  if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'DELETE') return out;
  const type = request.headers.get('content-type') ?? '';
  let text: string;
  try {
    if (type.includes('multipart/form-data')) {
      out.form = await request.formData();
      return out;
    }
    text = await request.text();
  } catch {
    // A multipart body that does not parse and a stream cut short both land here; the
    // caller tells them apart by whether the client went away (clientWentAway).
    out.jsonInvalid = true;
    out.unreadable = true;
    return out;
  }
  out.size = text.length;
  if (!text) return out;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) out.json = parsed as Record<string, unknown>;
    else out.jsonInvalid = true;
  } catch {
    out.jsonInvalid = true;
  }
  return out;
}

/**
 * After a body that could not be read: did the client go away (its connection closed, so
 * the request's signal aborts, possibly a moment after the body stream failed)? A client
 * killed mid-upload sent no request to judge, and the real API answers nobody then; a
 * body that failed to parse while the client waits is the client's malformed request.
 */
async function clientWentAway(signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return true;
  return new Promise<boolean>((resolve) => {
    const listener = addAbortListener(signal, () => {
      clearTimeout(timer);
      resolve(true);
    });
    const timer = setTimeout(() => {
      listener[Symbol.dispose]();
      resolve(false);
    }, FAKE_DEFAULTS.BODY_ABORT_GRACE_MS);
  });
}

function keyFields(json: Record<string, unknown> | undefined, form: FormData | undefined, params: Record<string, string>): Partial<JournalEntry> {
  const fields: Partial<JournalEntry> = {};
  if (typeof json?.model === 'string') fields.model = json.model;
  if (typeof json?.previous_response_id === 'string') fields.previousResponseId = json.previous_response_id;
  if (typeof json?.background === 'boolean') fields.background = json.background;
  if (typeof json?.stream === 'boolean') fields.stream = json.stream;
  if (typeof json?.file_id === 'string') fields.fileId = json.file_id;
  const ids = Array.isArray(json?.file_ids) ? json.file_ids : Array.isArray(json?.files) ? json.files : undefined;
  if (ids) fields.fileCount = ids.length;
  const storeFromTools = Array.isArray(json?.tools)
    ? (json.tools as Array<Record<string, unknown>>).find((t) => t?.type === 'file_search' && Array.isArray(t.vector_store_ids))
    : undefined;
  if (storeFromTools) fields.vectorStoreId = String((storeFromTools.vector_store_ids as unknown[])[0] ?? '');
  if (params.vectorStoreId) fields.vectorStoreId = params.vectorStoreId;
  if (params.responseId) fields.responseId = params.responseId;
  if (params.fileId) fields.fileId = params.fileId;
  if (params.batchId) fields.batchId = params.batchId;
  const file = form?.get('file');
  if (file && typeof file === 'object' && 'name' in file) fields.fileName = file.name;
  return fields;
}
