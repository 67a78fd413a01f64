/**
 * xAI's and Gemini's error bodies, turned into the OpenAI shape `{error: {message, code,
 * type, param}}` the `openai` SDK reads. Without this the SDK finds no `error` object:
 * Gemini's list-wrapped `[{"error": {…}}]` becomes "400 status code (no body)" and xAI's
 * `{"code": "…", "error": "…"}` loses its code. The shapes, and where each is documented,
 * are described in the fake's `harness/src/fake/dialects.ts`.
 *
 * Written by hand: the SDK has no hook for a provider's error dialect other than `fetch`.
 */
import type { ProviderId } from '../config/models.ts';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The OpenAI-shaped error body for a provider's error body, or undefined when it is
 * already OpenAI-shaped (or not an error body at all). Gemini keeps its Google status
 * name as `code` (`RESOURCE_EXHAUSTED`) and its `details` (RetryInfo); xAI keeps its
 * `code` text.
 */
export function normaliseErrorBody(provider: ProviderId, body: unknown): Json | undefined {
  if (provider === 'gemini') {
    // The compatibility endpoint wraps Google's error in a list; the first entry is the error.
    const wrapper = Array.isArray(body) ? body[0] : body;
    if (!isObject(wrapper) || !isObject(wrapper.error)) return undefined;
    const e = wrapper.error;
    if (typeof e.status !== 'string' && !Array.isArray(body)) return undefined;
    return {
      error: {
        message: typeof e.message === 'string' ? e.message : JSON.stringify(e.message ?? e),
        type: typeof e.status === 'string' ? e.status : null,
        code: typeof e.status === 'string' ? e.status : null,
        param: null,
        ...(Array.isArray(e.details) ? { details: e.details } : {}),
      },
    };
  }
  if (provider === 'xai' && isObject(body) && typeof body.error === 'string') {
    return { error: { message: body.error, type: null, code: typeof body.code === 'string' ? body.code : null, param: null } };
  }
  return undefined;
}

/**
 * A `fetch` for the SDK that rewrites a provider's JSON error body into the OpenAI shape;
 * successes, OpenAI and non-JSON bodies pass through untouched. It calls the global
 * `fetch` on each request, so interception installed later (msw, a proxy) still applies.
 */
export function errorDialectFetch(provider: ProviderId): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (response.ok || provider === 'openai' || !(response.headers.get('content-type') ?? '').includes('json')) return response;
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const normalised = body === undefined ? undefined : normaliseErrorBody(provider, body);
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(normalised ? JSON.stringify(normalised) : text, { status: response.status, statusText: response.statusText, headers });
  };
}
