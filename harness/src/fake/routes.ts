/**
 * The stable route ids of the fake. Faults, the journal and the control API all name
 * routes by these strings; this list is the one place they are defined.
 *
 * | Route id                               | Method and path (under the provider base)            |
 * |----------------------------------------|------------------------------------------------------|
 * | `responses.create`                     | POST   /responses                       (OpenAI)     |
 * | `responses.retrieve`                   | GET    /responses/{id}                  (OpenAI)     |
 * | `responses.cancel`                     | POST   /responses/{id}/cancel           (OpenAI)     |
 * | `responses.delete`                     | DELETE /responses/{id}                  (OpenAI)     |
 * | `chat.openai`                          | POST   /chat/completions                (OpenAI)     |
 * | `chat.xai`                             | POST   /chat/completions                (xAI)        |
 * | `chat.gemini`                          | POST   /chat/completions                (Gemini)     |
 * | `files.create`                         | POST   /files  (multipart)              (OpenAI)     |
 * | `files.list`                           | GET    /files                           (OpenAI)     |
 * | `files.retrieve`                       | GET    /files/{id}                      (OpenAI)     |
 * | `files.delete`                         | DELETE /files/{id}                      (OpenAI)     |
 * | `vector_stores.create`                 | POST   /vector_stores                                |
 * | `vector_stores.list`                   | GET    /vector_stores                                |
 * | `vector_stores.retrieve`               | GET    /vector_stores/{id}                           |
 * | `vector_stores.update`                 | POST   /vector_stores/{id}                           |
 * | `vector_stores.delete`                 | DELETE /vector_stores/{id}                           |
 * | `vector_stores.search`                 | POST   /vector_stores/{id}/search                    |
 * | `vector_stores.files.create`           | POST   /vector_stores/{id}/files                     |
 * | `vector_stores.files.list`             | GET    /vector_stores/{id}/files                     |
 * | `vector_stores.files.retrieve`         | GET    /vector_stores/{id}/files/{file_id}           |
 * | `vector_stores.files.delete`           | DELETE /vector_stores/{id}/files/{file_id}           |
 * | `vector_stores.file_batches.create`    | POST   /vector_stores/{id}/file_batches              |
 * | `vector_stores.file_batches.retrieve`  | GET    /vector_stores/{id}/file_batches/{batch_id}   |
 * | `vector_stores.file_batches.cancel`    | POST   /vector_stores/{id}/file_batches/{batch_id}/cancel |
 * | `vector_stores.file_batches.files`     | GET    /vector_stores/{id}/file_batches/{batch_id}/files  |
 *
 * A fault's `route` may also be `'*'` (every route) or a prefix ending in `.*`
 * (`'vector_stores.*'`, `'chat.*'`).
 */
export const ROUTE_IDS = [
  'responses.create',
  'responses.retrieve',
  'responses.cancel',
  'responses.delete',
  'chat.openai',
  'chat.xai',
  'chat.gemini',
  'files.create',
  'files.list',
  'files.retrieve',
  'files.delete',
  'vector_stores.create',
  'vector_stores.list',
  'vector_stores.retrieve',
  'vector_stores.update',
  'vector_stores.delete',
  'vector_stores.search',
  'vector_stores.files.create',
  'vector_stores.files.list',
  'vector_stores.files.retrieve',
  'vector_stores.files.delete',
  'vector_stores.file_batches.create',
  'vector_stores.file_batches.retrieve',
  'vector_stores.file_batches.cancel',
  'vector_stores.file_batches.files',
] as const;

export type RouteId = (typeof ROUTE_IDS)[number];

/** The three upstreams the server talks to. */
export type ProviderName = 'openai' | 'xai' | 'gemini';

export const PROVIDER_NAMES: readonly ProviderName[] = ['openai', 'xai', 'gemini'];

/** Base URLs for in-process interception (msw `setupServer`). */
export const DEFAULT_BASE_URLS: Readonly<Record<ProviderName, string>> = {
  openai: 'http://openai.fake/v1',
  xai: 'http://xai.fake/v1',
  gemini: 'http://gemini.fake/v1beta/openai',
};

/** Path prefixes under which the loopback server mounts each provider. */
export const LOOPBACK_PREFIXES: Readonly<Record<ProviderName, string>> = {
  openai: '/openai/v1',
  xai: '/xai/v1',
  gemini: '/gemini/v1beta/openai',
};

/** Routes that carry upload traffic; an account in a degraded window slows these (KI-17). */
export const UPLOAD_ROUTES: readonly RouteId[] = [
  'files.create',
  'vector_stores.files.create',
  'vector_stores.file_batches.create',
];

/** A route pattern: an exact id, `'*'`, or a prefix ending in `.*`. */
export type RoutePattern = RouteId | '*' | `${string}.*`;

export function routeMatches(pattern: string, route: RouteId): boolean {
  if (pattern === '*' || pattern === route) return true;
  if (pattern.endsWith('.*')) return route.startsWith(pattern.slice(0, -1));
  return false;
}

/** Throws when a pattern can never match, so a misspelt fault fails at once. */
export function assertRoutePattern(pattern: string): void {
  if (ROUTE_IDS.some((r) => routeMatches(pattern, r))) return;
  throw new TypeError(`Unknown route "${pattern}". Accepted: '*', a prefix ending in '.*', or one of: ${ROUTE_IDS.join(', ')}`);
}
