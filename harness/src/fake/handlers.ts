import { http } from 'msw';
import type { HttpHandler } from 'msw';
import { chatCompletionRoutes } from './chat-completions.ts';
import type { FakeRuntime, RouteDefinition } from './context.ts';
import { dispatch } from './dispatch.ts';
import { errorResponse } from './errors.ts';
import { fileRoutes } from './files.ts';
import { responsesRoutes } from './responses.ts';
import type { ProviderName } from './routes.ts';
import { vectorStoreFileRoutes } from './vector-store-files.ts';
import { vectorStoreRoutes } from './vector-stores.ts';

/** Every route the fake serves. */
export const ROUTE_DEFINITIONS: readonly RouteDefinition[] = [
  ...responsesRoutes,
  ...chatCompletionRoutes,
  ...fileRoutes,
  ...vectorStoreRoutes,
  ...vectorStoreFileRoutes,
];

/**
 * One msw handler per route, mounted under its provider's base URL, then one
 * catch-all per base: an unknown path answers the provider's 404 instead of leaking
 * to the network (the fake hosts do not resolve).
 */
export function buildHandlers(runtime: FakeRuntime, baseUrls: Record<ProviderName, string>): HttpHandler[] {
  const routes = ROUTE_DEFINITIONS.map((def) =>
    http[def.method](`${baseUrls[def.provider]}${def.path}`, ({ request, params }) =>
      dispatch(runtime, def, request, stringParams(params)),
    ),
  );
  const fallbacks = [...new Set(Object.values(baseUrls))].map((base) =>
    http.all(`${base}/*`, ({ request }) => {
      const { pathname } = new URL(request.url);
      return errorResponse({ status: 404, message: `Invalid URL (${request.method} ${pathname})`, type: 'invalid_request_error', param: null, code: null });
    }),
  );
  return [...routes, ...fallbacks];
}

function stringParams(params: Record<string, string | readonly string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (typeof v === 'string') out[k] = decodeURIComponent(v);
  return out;
}
