/**
 * Provider errors. Each is built here in OpenAI's wire shape `{error: {message, type,
 * param, code}}`; the dispatcher sends xAI's and Gemini's in their own shapes instead
 * (`dialects.ts`), so clients parse them exactly as they would in production.
 */

export interface ProviderErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export interface ProviderError extends ProviderErrorBody {
  status: number;
}

export function jsonResponse(body: unknown, status = 200, headers?: Record<string, string>): Response {
  const text = JSON.stringify(body);
  const h = new Headers(headers);
  h.set('content-type', 'application/json');
  h.set('content-length', String(Buffer.byteLength(text)));
  return new Response(text, { status, headers: h });
}

export function errorResponse(error: ProviderError, headers?: Record<string, string>): Response {
  const { status, ...body } = error;
  return jsonResponse({ error: body }, status, headers);
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = null): ProviderError {
  return { status: 400, message, type: 'invalid_request_error', param, code };
}

export function notFound(message: string, param: string | null = null, code: string | null = null): ProviderError {
  return { status: 404, message, type: 'invalid_request_error', param, code };
}

export function serverError(status = 500, message?: string): ProviderError {
  return {
    status,
    message:
      message ??
      'The server had an error while processing your request. Sorry about that! You can retry your request, or contact us through our help center if the error persists.',
    type: 'server_error',
    param: null,
    code: 'server_error',
  };
}

export function missingApiKey(): ProviderError {
  return {
    status: 401,
    message:
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    type: 'invalid_request_error',
    param: null,
    code: null,
  };
}

export function rateLimited(message: string): ProviderError {
  return { status: 429, message, type: 'requests', param: null, code: 'rate_limit_exceeded' };
}

export function insufficientQuota(): ProviderError {
  return {
    status: 429,
    message:
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    type: 'insufficient_quota',
    param: null,
    code: 'insufficient_quota',
  };
}

/** KI-13: the provider refuses a new vector store once the project holds `limit`. */
export function storeLimitReached(limit: number): ProviderError {
  return invalidRequest(
    `You have reached the maximum number of vector stores allowed for this project (${limit}). Delete unused vector stores and try again.`,
    null,
    'vector_store_limit_exceeded',
  );
}

/**
 * KI-15: the provider no longer knows the response a follow-up points at. The live API
 * answers 400 with `code: previous_response_not_found` (the spec lists no error bodies);
 * 404 stays available (`previousResponseNotFoundStatus`) for the older behaviour.
 */
export function previousResponseNotFound(id: string, status: 400 | 404 = 400): ProviderError {
  return { status, message: `Previous response with id '${id}' not found.`, type: 'invalid_request_error', param: 'previous_response_id', code: 'previous_response_not_found' };
}

/** The live API's answer to a parameter the model does not take (o-series `temperature`, GPT-4.1 `reasoning`). */
export function unsupportedParameter(param: string, model: string): ProviderError {
  return { status: 400, message: `Unsupported parameter: '${param}' is not supported with this model (${model}).`, type: 'invalid_request_error', param, code: 'unsupported_parameter' };
}

