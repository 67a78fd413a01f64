import { errorResponse, jsonResponse } from './errors.ts';
import type { ProviderError } from './errors.ts';
import type { ProviderName } from './routes.ts';

/**
 * Where xAI's and Gemini's OpenAI-compatible Chat Completions endpoints depart from
 * OpenAI, as their docs describe them and, where the docs are silent, as public reports
 * of the live services show. Each rule names its source; what no source states is said
 * so, and the fake keeps OpenAI's behaviour there.
 *
 * Error bodies
 * - xAI: https://docs.x.ai/docs/key-information/debugging lists the statuses (400 invalid
 *   argument or bad key, 401, 403, 404 unknown model, 405, 415, 422, 429 rate limit) and
 *   says an error comes "with error message", not the body's shape. Reports of the live
 *   API show `{"code": "Client specified an invalid argument", "error": "Argument not
 *   supported on this model: presencePenalty"}` (github.com/yym68686/uni-api/issues/105):
 *   no `error.message`, and `code` is text. No source gives the `code` text of other
 *   statuses; the fake uses the HTTP reason phrase there.
 * - Gemini: https://ai.google.dev/gemini-api/docs/troubleshooting lists HTTP status with
 *   its Google status name (400 INVALID_ARGUMENT / FAILED_PRECONDITION, 403
 *   PERMISSION_DENIED, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, 500 INTERNAL, 503
 *   UNAVAILABLE, 504 DEADLINE_EXCEEDED); https://ai.google.dev/gemini-api/docs/openai shows
 *   no error bodies. The compatibility endpoint answers Google's error wrapped in a list,
 *   `[{"error": {"code": 400, "message": "Invalid reasoning_effort: minimal. Valid values
 *   are: high, low, medium, none", "status": "INVALID_ARGUMENT"}}]`, as reported with the
 *   openai SDK at discuss.ai.google.dev/t/117875; the unwrapped `{"error": {…}}` also
 *   occurs (`geminiErrorShape: 'object'`).
 *
 * Rate limits
 * - xAI: https://docs.x.ai/docs/key-information/consumption-and-rate-limits says that
 *   exceeding a per-model RPS or TPM limit answers 429 and advises exponential backoff; it
 *   names no response header. The fake keeps OpenAI's `x-ratelimit-*` and `retry-after`
 *   headers, as third-party guides describe for api.x.ai.
 * - Gemini: no `Retry-After` header; the delay is a `google.rpc.RetryInfo` in
 *   `error.details` (`"retryDelay": "22s"`, a protobuf Duration), per Google's error model
 *   (https://cloud.google.com/apis/design/errors#error_details) and reports that the
 *   compatibility endpoint states its cooldown only there (sourceforge.net/p/atomicagent/
 *   tickets/106). The docs name no rate-limit headers; the fake keeps OpenAI's.
 *
 * Parameters (`rejectedParameter`)
 * - xAI, https://docs.x.ai/docs/guides/reasoning: `presence_penalty`, `frequency_penalty`
 *   and `stop` are "not supported by reasoning models. Adding them in the request would
 *   result in an error"; `reasoning_effort` "is not supported by grok-3, grok-4 and
 *   grok-4-fast-reasoning … will get an error response"; grok-3-mini takes it (and
 *   grok-4.3, per https://docs.x.ai/developers/model-capabilities/text/reasoning).
 * - Gemini, https://ai.google.dev/gemini-api/docs/openai#thinking maps `reasoning_effort`
 *   to thinking levels; the endpoint accepts `none`, `low`, `medium`, `high` and refuses
 *   other values with 400 INVALID_ARGUMENT (the report above). Which other OpenAI
 *   parameters it rejects the docs do not say; the fake accepts them.
 */

export type GeminiErrorShape = 'list' | 'object';

const GEMINI_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const XAI_INVALID_ARGUMENT = 'Client specified an invalid argument';

const REASON_PHRASE: Record<number, string> = {
  401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 415: 'Unsupported Media Type',
  422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** The RetryInfo detail's type URL (google/rpc/error_details.proto). */
export const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

export interface DialectOptions {
  geminiErrorShape: GeminiErrorShape;
  /** The delay the provider states on a 429 (Gemini: RetryInfo; others: the headers already set). */
  retryAfterMs?: number;
}

/** A protobuf Duration in its JSON form: seconds with up to 9 decimals, then `s`. */
export function durationOf(ms: number): string {
  return `${Number((Math.max(0, ms) / 1000).toFixed(9))}s`;
}

/** The error response in the provider's own wire shape. */
export function providerErrorResponse(provider: ProviderName, error: ProviderError, headers: Record<string, string> | undefined, options: DialectOptions): Response {
  if (provider === 'xai') {
    const code = error.status === 400 ? XAI_INVALID_ARGUMENT : REASON_PHRASE[error.status] ?? `HTTP ${error.status}`;
    return jsonResponse({ code, error: error.message }, error.status, headers);
  }
  if (provider === 'gemini') {
    const h: Record<string, string> = { ...headers };
    delete h['retry-after'];
    delete h['retry-after-ms'];
    const inner: Record<string, unknown> = { code: error.status, message: error.message, status: GEMINI_STATUS[error.status] ?? 'UNKNOWN' };
    if (error.status === 429 && options.retryAfterMs !== undefined) {
      inner.details = [{ '@type': RETRY_INFO_TYPE, retryDelay: durationOf(options.retryAfterMs) }];
    }
    return jsonResponse(options.geminiErrorShape === 'list' ? [{ error: inner }] : { error: inner }, error.status, h);
  }
  return errorResponse(error, headers);
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** xAI's reasoning models: everything but the `non-reasoning` variants and grok-3 itself (not grok-3-mini). */
function isXaiReasoningModel(model: string): boolean {
  return !/non-reasoning/.test(model) && !/^grok-3(?!-mini)/.test(model) && !/^grok-2/.test(model);
}

const XAI_CAMEL: Record<string, string> = {
  presence_penalty: 'presencePenalty',
  frequency_penalty: 'frequencyPenalty',
  stop: 'stop',
  reasoning_effort: 'reasoningEffort',
};

const GEMINI_EFFORTS = ['high', 'low', 'medium', 'none'];

/** The provider's refusal of a parameter the model does not take (see the rules above), if any. */
export function rejectedParameter(provider: ProviderName, model: string, body: Record<string, unknown>): ProviderError | undefined {
  if (provider === 'xai') {
    const reasoning = isXaiReasoningModel(model);
    const takesEffort = /^grok-3-mini/.test(model) || /^grok-4\.3/.test(model);
    const param = [
      ...(reasoning ? ['presence_penalty', 'frequency_penalty', 'stop'] : []),
      ...(takesEffort ? [] : ['reasoning_effort']),
    ].find((p) => isSet(body[p]));
    if (!param) return undefined;
    return { status: 400, message: `Argument not supported on this model: ${XAI_CAMEL[param]}`, type: 'invalid_request_error', param, code: 'unsupported_parameter' };
  }
  if (provider === 'gemini' && isSet(body.reasoning_effort) && !GEMINI_EFFORTS.includes(String(body.reasoning_effort))) {
    return {
      status: 400,
      message: `Invalid reasoning_effort: ${String(body.reasoning_effort)}. Valid values are: ${GEMINI_EFFORTS.join(', ')}`,
      type: 'invalid_request_error',
      param: 'reasoning_effort',
      code: 'invalid_value',
    };
  }
  return undefined;
}
