import { formatViolations } from '../spec/oracle.ts';
import { validateRequestOffThread, validateResponseOffThread, warmValidatorsOffThread } from '../spec/off-thread.ts';
import type { SpecViolation } from '../spec/oracle.ts';
import type { FakeRuntime, RouteDefinition } from './context.ts';
import { jsonResponse } from './errors.ts';
import type { JournalEntry } from './journal.ts';
import type { RouteId } from './routes.ts';

/**
 * The fake's check against the official OpenAI spec (`harness/src/spec/oracle.ts`): every
 * request the server sends and every response the fake gives are validated. A violation
 * is recorded on the journal entry (`specViolations`; the chaos `spec` probe fails a
 * scenario on any) and, with `specValidation: 'enforce'` (the default), also answered:
 * - a request that departs from the spec gets a 400 `spec_violation` naming the fields,
 *   as the real API rejects an invalid request;
 * - a response of the fake that departs from the spec is replaced by a 418
 *   `fake_spec_violation`: a status no provider sends and no client retries, so the test
 *   that met it fails at once, naming the field.
 */

/** `'enforce'` answers violations (default); `'record'` only journals them; `'off'` skips the check. */
export type SpecValidationMode = 'enforce' | 'record' | 'off';

/** Status of the fake's answer to its own spec violation. */
export const FAKE_SPEC_VIOLATION_STATUS = 418;

interface Operation { path: string; method: string; responses: boolean }

/**
 * Each route's operation in the spec. xAI's and Gemini's endpoints are OpenAI-compatible
 * Chat Completions: their requests are checked against the OpenAI schema; their responses
 * are modelled on their own docs (differing error shapes), so they are not.
 */
const OPERATIONS: Record<RouteId, Operation> = {
  'responses.create': { path: '/responses', method: 'post', responses: true },
  'responses.retrieve': { path: '/responses/{response_id}', method: 'get', responses: true },
  'responses.cancel': { path: '/responses/{response_id}/cancel', method: 'post', responses: true },
  'responses.delete': { path: '/responses/{response_id}', method: 'delete', responses: true },
  'chat.openai': { path: '/chat/completions', method: 'post', responses: true },
  'chat.xai': { path: '/chat/completions', method: 'post', responses: false },
  'chat.gemini': { path: '/chat/completions', method: 'post', responses: false },
  'files.create': { path: '/files', method: 'post', responses: true },
  'files.list': { path: '/files', method: 'get', responses: true },
  'files.retrieve': { path: '/files/{file_id}', method: 'get', responses: true },
  'files.delete': { path: '/files/{file_id}', method: 'delete', responses: true },
  'vector_stores.create': { path: '/vector_stores', method: 'post', responses: true },
  'vector_stores.list': { path: '/vector_stores', method: 'get', responses: true },
  'vector_stores.retrieve': { path: '/vector_stores/{vector_store_id}', method: 'get', responses: true },
  'vector_stores.update': { path: '/vector_stores/{vector_store_id}', method: 'post', responses: true },
  'vector_stores.delete': { path: '/vector_stores/{vector_store_id}', method: 'delete', responses: true },
  'vector_stores.search': { path: '/vector_stores/{vector_store_id}/search', method: 'post', responses: true },
  'vector_stores.files.create': { path: '/vector_stores/{vector_store_id}/files', method: 'post', responses: true },
  'vector_stores.files.list': { path: '/vector_stores/{vector_store_id}/files', method: 'get', responses: true },
  'vector_stores.files.retrieve': { path: '/vector_stores/{vector_store_id}/files/{file_id}', method: 'get', responses: true },
  'vector_stores.files.delete': { path: '/vector_stores/{vector_store_id}/files/{file_id}', method: 'delete', responses: true },
  'vector_stores.file_batches.create': { path: '/vector_stores/{vector_store_id}/file_batches', method: 'post', responses: true },
  'vector_stores.file_batches.retrieve': { path: '/vector_stores/{vector_store_id}/file_batches/{batch_id}', method: 'get', responses: true },
  'vector_stores.file_batches.cancel': { path: '/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel', method: 'post', responses: true },
  'vector_stores.file_batches.files': { path: '/vector_stores/{vector_store_id}/file_batches/{batch_id}/files', method: 'get', responses: true },
};

/**
 * Compiles every route's validators ahead of the first request, when the check is on; a
 * failure shows at the first real check instead. Used where a fake serves a judged run
 * (the chaos runner's fakes), not by every unit test's fake.
 */
export function warmSpecCheck(mode: SpecValidationMode): void {
  if (mode === 'off') return;
  warmValidatorsOffThread(Object.values(OPERATIONS)).catch(() => {});
}

/** Header set on the fake's own violation answers, so they are not checked again. */
const MARK = 'x-fake-spec-violation';

function record(entry: JournalEntry, violations: readonly SpecViolation[]): void {
  if (violations.length) entry.specViolations = [...(entry.specViolations ?? []), ...violations];
}

/** Multipart fields as the schema sees them: files become `'<binary>'`. */
function formFields(form: FormData): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of form) out[name] = typeof value === 'string' ? value : '<binary>';
  return out;
}

/** Checks a request; returns the 400 to answer with when it departs from the spec and the mode enforces. */
export async function checkRequest(
  runtime: FakeRuntime,
  def: RouteDefinition,
  entry: JournalEntry,
  request: { url: URL; json: Record<string, unknown> | undefined; form: FormData | undefined },
): Promise<Response | undefined> {
  const mode = runtime.settings.specValidation;
  if (mode === 'off') return undefined;
  const op = OPERATIONS[def.route];
  const violations = await validateRequestOffThread({
    path: op.path,
    method: op.method,
    query: request.url.searchParams,
    body: request.form ? formFields(request.form) : request.json,
    contentType: request.form ? 'multipart/form-data' : 'application/json',
  });
  record(entry, violations);
  if (!violations.length || mode !== 'enforce') return undefined;
  const body = {
    error: {
      message: `The request does not match the OpenAI API spec: ${formatViolations(violations)}`,
      type: 'invalid_request_error',
      // The API's `param` style: `reasoning.effort`, `tools[0].type`.
      param: violations[0]!.field.replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replaceAll('/', '.'),
      code: 'spec_violation',
    },
  };
  return jsonResponse(body, 400, { [MARK]: 'request' });
}

function violationAnswer(violations: readonly SpecViolation[], headers: Headers): Response {
  const body = {
    error: {
      message: `The fake's response departs from the OpenAI API spec: ${formatViolations(violations)}`,
      type: 'fake_spec_violation',
      param: violations[0]!.field,
      code: 'fake_spec_violation',
    },
  };
  const keep: Record<string, string> = { [MARK]: 'response' };
  const requestId = headers.get('x-request-id');
  if (requestId) keep['x-request-id'] = requestId;
  return jsonResponse(body, FAKE_SPEC_VIOLATION_STATUS, keep);
}

/**
 * Checks a JSON response the fake is about to send. Bodies shaped by a fault (HTML,
 * malformed or cut-off JSON, streamed frames) are deliberate and are not checked here;
 * SSE frames are checked by `checkEventFrames` before they are shaped.
 */
export async function checkResponse(runtime: FakeRuntime, def: RouteDefinition, entry: JournalEntry, response: Response): Promise<Response> {
  const mode = runtime.settings.specValidation;
  const op = OPERATIONS[def.route];
  if (mode === 'off' || !op.responses || response.type === 'error' || response.headers.has(MARK)) return response;
  if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) return response;
  if (response.headers.get('transfer-encoding') === 'chunked') return response;
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    return response;
  }
  const violations = await validateResponseOffThread({ path: op.path, method: op.method, status: response.status, headers: response.headers, body });
  record(entry, violations);
  return violations.length && mode === 'enforce' ? violationAnswer(violations, response.headers) : response;
}

/** Checks the events of a stream before it is sent; returns the 418 to send instead, if enforced. */
export async function checkEventFrames(runtime: FakeRuntime, def: RouteDefinition, entry: JournalEntry, frames: readonly string[], headers: Headers): Promise<Response | undefined> {
  const mode = runtime.settings.specValidation;
  const op = OPERATIONS[def.route];
  if (mode === 'off' || !op.responses) return undefined;
  const violations: SpecViolation[] = [];
  for (const frame of frames) {
    const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    if (!data || data === '[DONE]') continue;
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      continue;
    }
    violations.push(...(await validateResponseOffThread({ path: op.path, method: op.method, status: 200, body: event, contentType: 'text/event-stream' })));
  }
  record(entry, violations);
  return violations.length && mode === 'enforce' ? violationAnswer(violations, headers) : undefined;
}

