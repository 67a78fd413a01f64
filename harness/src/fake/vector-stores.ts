import { invalidParameter, missingParameter, param, ProviderHttpError, requireJson } from './context.ts';
import type { RouteContext, RouteDefinition, RouteResult } from './context.ts';
import { FAKE_DEFAULTS } from './defaults.ts';
import { jsonResponse, storeLimitReached } from './errors.ts';
import { findFault } from './faults.ts';
import { lookupFile, lookupStore, parseFileIds } from './lookups.ts';
import { paginate } from './pagination.ts';
import { searchFiles } from './search.ts';
import type { ExpiresAfter, FakeState, FileRecord, VectorStoreRecord } from './state.ts';
import { attachFiles } from './vector-store-files.ts';

/**
 * Vector stores: create (with the project's store limit, KI-13), list with cursor
 * pagination, retrieve, update, delete and search.
 */

export const vectorStoreRoutes: RouteDefinition[] = [
  { route: 'vector_stores.create', provider: 'openai', method: 'post', path: '/vector_stores', handle: createStore },
  { route: 'vector_stores.list', provider: 'openai', method: 'get', path: '/vector_stores', handle: listStores },
  { route: 'vector_stores.retrieve', provider: 'openai', method: 'get', path: '/vector_stores/:vectorStoreId', handle: retrieveStore },
  { route: 'vector_stores.update', provider: 'openai', method: 'post', path: '/vector_stores/:vectorStoreId', handle: updateStore },
  { route: 'vector_stores.delete', provider: 'openai', method: 'delete', path: '/vector_stores/:vectorStoreId', handle: deleteStore },
  { route: 'vector_stores.search', provider: 'openai', method: 'post', path: '/vector_stores/:vectorStoreId/search', handle: searchStore },
];

function createStore(ctx: RouteContext): RouteResult {
  const body = ctx.json ?? {};
  const { state, settings } = ctx.runtime;
  if (findFault(ctx.faults, 'store-limit') || state.vectorStores.size >= settings.storeLimit) {
    throw new ProviderHttpError(storeLimitReached(settings.storeLimit));
  }
  const metadata = parseMetadata(body.metadata);
  const expiresAfter = parseExpiresAfter(body.expires_after);
  const fileIds = body.file_ids === undefined ? [] : parseFileIds(body.file_ids, 'file_ids');
  for (const id of fileIds) lookupFile(state, id);
  const store = state.addVectorStore({ name: typeof body.name === 'string' ? body.name : '', metadata, expiresAfter });
  ctx.entry.vectorStoreId = store.id;
  attachFiles(ctx, store.id, fileIds.map((id) => ({ fileId: id, attributes: null })), null);
  return jsonResponse(serializeStore(state, store));
}

function listStores(ctx: RouteContext): RouteResult {
  const { state } = ctx.runtime;
  return jsonResponse(paginate([...state.vectorStores.values()].map((s) => serializeStore(state, s)), ctx.url));
}

function retrieveStore(ctx: RouteContext): RouteResult {
  const { state } = ctx.runtime;
  return jsonResponse(serializeStore(state, lookupStore(state, param(ctx, 'vectorStoreId'))));
}

function updateStore(ctx: RouteContext): RouteResult {
  const body = requireJson(ctx);
  const { state } = ctx.runtime;
  const store = lookupStore(state, param(ctx, 'vectorStoreId'));
  if (body.name !== undefined) store.name = body.name === null ? '' : String(body.name);
  if (body.metadata !== undefined) store.metadata = parseMetadata(body.metadata);
  if (body.expires_after !== undefined) store.expiresAfter = parseExpiresAfter(body.expires_after);
  store.lastActiveAt = state.nowSeconds();
  return jsonResponse(serializeStore(state, store));
}

function deleteStore(ctx: RouteContext): RouteResult {
  const { state } = ctx.runtime;
  const store = lookupStore(state, param(ctx, 'vectorStoreId'));
  state.vectorStores.delete(store.id);
  state.vectorStoreFiles.delete(store.id);
  for (const [id, batch] of state.fileBatches) if (batch.vectorStoreId === store.id) state.fileBatches.delete(id);
  return jsonResponse({ id: store.id, object: 'vector_store.deleted', deleted: true });
}

function searchStore(ctx: RouteContext): RouteResult {
  const body = requireJson(ctx);
  const { state } = ctx.runtime;
  const store = lookupStore(state, param(ctx, 'vectorStoreId'));
  const query = body.query;
  if (query === undefined || query === null) throw missingParameter('query');
  if (typeof query !== 'string' && !(Array.isArray(query) && query.every((q) => typeof q === 'string'))) {
    throw invalidParameter('query', "Invalid 'query': expected a string or an array of strings.");
  }
  const max = body.max_num_results === undefined ? FAKE_DEFAULTS.SEARCH_RESULTS_DEFAULT : Number(body.max_num_results);
  if (!Number.isInteger(max) || max < 1 || max > FAKE_DEFAULTS.SEARCH_RESULTS_MAX) {
    throw invalidParameter('max_num_results', `Invalid 'max_num_results': integer between 1 and ${FAKE_DEFAULTS.SEARCH_RESULTS_MAX} expected.`);
  }
  store.lastActiveAt = state.nowSeconds();
  const candidates: FileRecord[] = [];
  const attributes = new Map<string, VectorStoreAttributes>();
  for (const sf of state.filesOf(store.id).values()) {
    const file = state.files.get(sf.fileId);
    if (!file || state.vectorStoreFileStatus(sf) !== 'completed') continue;
    candidates.push(file);
    attributes.set(file.id, sf.attributes);
  }
  const hits = searchFiles(candidates, query, max);
  return jsonResponse({
    object: 'vector_store.search_results.page',
    search_query: Array.isArray(query) ? query : [query],
    data: hits.map((h) => ({
      file_id: h.file.id,
      filename: h.file.filename,
      score: h.score,
      attributes: attributes.get(h.file.id) ?? null,
      content: [{ type: 'text', text: h.excerpt }],
    })),
    has_more: false,
    next_page: null,
  });
}

type VectorStoreAttributes = Record<string, string | number | boolean> | null;

export function serializeStore(state: FakeState, store: VectorStoreRecord): Record<string, unknown> & { id: string } {
  const files = [...state.filesOf(store.id).values()];
  return {
    id: store.id,
    object: 'vector_store',
    created_at: store.createdAt,
    name: store.name,
    description: null,
    usage_bytes: files.filter((f) => state.vectorStoreFileStatus(f) === 'completed').reduce((n, f) => n + f.usageBytes, 0),
    file_counts: state.fileCounts(files),
    status: state.vectorStoreStatus(store),
    // Optional in the spec (VectorStoreExpirationAfter object, not null): absent when none was set.
    ...(store.expiresAfter ? { expires_after: store.expiresAfter } : {}),
    expires_at: state.expiresAt(store),
    last_active_at: store.lastActiveAt,
    metadata: store.metadata ?? {},
  };
}

function parseMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParameter('metadata', "Invalid 'metadata': expected an object.");
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 16) throw invalidParameter('metadata', "Invalid 'metadata': too many keys (at most 16).");
  for (const [k, v] of entries) {
    if (k.length > 64) throw invalidParameter('metadata', `Invalid 'metadata': key '${k.slice(0, 20)}…' is longer than 64 characters.`);
    if (typeof v !== 'string') throw invalidParameter('metadata', `Invalid 'metadata.${k}': expected a string.`);
    if (v.length > 512) throw invalidParameter('metadata', `Invalid 'metadata.${k}': longer than 512 characters.`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseExpiresAfter(value: unknown): ExpiresAfter | null {
  if (value === undefined || value === null) return null;
  const v = value as Record<string, unknown>;
  if (v.anchor !== 'last_active_at') throw invalidParameter('expires_after.anchor', "Invalid 'expires_after.anchor': expected 'last_active_at'.");
  const days = Number(v.days);
  if (!Number.isInteger(days) || days < 1 || days > 365) throw invalidParameter('expires_after.days', "Invalid 'expires_after.days': integer between 1 and 365 expected.");
  return { anchor: 'last_active_at', days };
}
