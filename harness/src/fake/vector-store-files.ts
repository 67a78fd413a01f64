import { invalidParameter, missingParameter, param, ProviderHttpError, requireJson } from './context.ts';
import type { RouteContext, RouteDefinition, RouteResult } from './context.ts';
import { jsonResponse, notFound } from './errors.ts';
import { findFault } from './faults.ts';
import { paginate } from './pagination.ts';
import type { FakeState, FileBatchRecord, VectorStoreFileRecord, VectorStoreFileStatus } from './state.ts';
import { lookupFile, lookupStore, parseFileIds } from './lookups.ts';

/**
 * Files inside vector stores and file batches. A file processes for the configured
 * time, then ends with its outcome; faults make files fail, end cancelled, or keep a
 * batch `in_progress` for good (KI-19). Cancelling a batch cancels its unfinished files.
 */

export const vectorStoreFileRoutes: RouteDefinition[] = [
  { route: 'vector_stores.files.create', provider: 'openai', method: 'post', path: '/vector_stores/:vectorStoreId/files', handle: createStoreFile },
  { route: 'vector_stores.files.list', provider: 'openai', method: 'get', path: '/vector_stores/:vectorStoreId/files', handle: listStoreFiles },
  { route: 'vector_stores.files.retrieve', provider: 'openai', method: 'get', path: '/vector_stores/:vectorStoreId/files/:fileId', handle: retrieveStoreFile },
  { route: 'vector_stores.files.delete', provider: 'openai', method: 'delete', path: '/vector_stores/:vectorStoreId/files/:fileId', handle: deleteStoreFile },
  { route: 'vector_stores.file_batches.create', provider: 'openai', method: 'post', path: '/vector_stores/:vectorStoreId/file_batches', handle: createBatch },
  { route: 'vector_stores.file_batches.retrieve', provider: 'openai', method: 'get', path: '/vector_stores/:vectorStoreId/file_batches/:batchId', handle: retrieveBatch },
  { route: 'vector_stores.file_batches.cancel', provider: 'openai', method: 'post', path: '/vector_stores/:vectorStoreId/file_batches/:batchId/cancel', handle: cancelBatch },
  { route: 'vector_stores.file_batches.files', provider: 'openai', method: 'get', path: '/vector_stores/:vectorStoreId/file_batches/:batchId/files', handle: listBatchFiles },
];

type Attributes = Record<string, string | number | boolean> | null;

/** Attaches files to a store, applying the request's behaviour faults to each. */
export function attachFiles(ctx: RouteContext, vectorStoreId: string, items: ReadonlyArray<{ fileId: string; attributes: Attributes }>, batchId: string | null): VectorStoreFileRecord[] {
  const { state, settings } = ctx.runtime;
  const stuck = findFault(ctx.faults, 'batch-stuck');
  const processing = findFault(ctx.faults, 'file-processing');
  // Several file-status rules compose: each file takes the first rule that selects it.
  const statusFaults = ctx.faults.flatMap((f) => (f.fault.type === 'file-status' ? [f.fault] : []));
  return items.map(({ fileId, attributes }, index) => {
    const filename = state.files.get(fileId)?.filename;
    const statusFault = statusFaults.find(
      (f) =>
        (f.fileIndexes === undefined && f.fileNames === undefined) ||
        f.fileIndexes?.includes(index) === true ||
        (filename !== undefined && f.fileNames?.includes(filename) === true),
    );
    const outcome = statusFault?.status ?? 'completed';
    return state.attachFile(vectorStoreId, fileId, {
      batchId,
      attributes,
      processingMs: stuck ? Number.POSITIVE_INFINITY : (processing?.ms ?? settings.fileProcessingMs),
      outcome,
      lastError: outcome === 'failed' ? { code: statusFault?.code ?? 'server_error', message: 'The file could not be processed.' } : null,
    });
  });
}

function createStoreFile(ctx: RouteContext): RouteResult {
  const body = requireJson(ctx);
  const { state } = ctx.runtime;
  const store = lookupStore(state, param(ctx, 'vectorStoreId'));
  if (typeof body.file_id !== 'string' || !body.file_id) throw missingParameter('file_id');
  lookupFile(state, body.file_id);
  const [record] = attachFiles(ctx, store.id, [{ fileId: body.file_id, attributes: parseAttributes(body.attributes) }], null);
  return jsonResponse(serializeStoreFile(state, record!));
}

function listStoreFiles(ctx: RouteContext): RouteResult {
  const { state } = ctx.runtime;
  const store = lookupStore(state, param(ctx, 'vectorStoreId'));
  return jsonResponse(paginate(filtered(state, [...state.filesOf(store.id).values()], ctx.url), ctx.url));
}

function retrieveStoreFile(ctx: RouteContext): RouteResult {
  const { state } = ctx.runtime;
  return jsonResponse(serializeStoreFile(state, lookupStoreFile(state, param(ctx, 'vectorStoreId'), param(ctx, 'fileId'))));
}

function deleteStoreFile(ctx: RouteContext): RouteResult {
  const { state } = ctx.runtime;
  const record = lookupStoreFile(state, param(ctx, 'vectorStoreId'), param(ctx, 'fileId'));
  state.filesOf(record.vectorStoreId).delete(record.fileId);
  return jsonResponse({ id: record.fileId, object: 'vector_store.file.deleted', deleted: true });
}

function createBatch(ctx: RouteContext): RouteResult {
  const body = requireJson(ctx);
  const { state, clock } = ctx.runtime;
  const store = lookupStore(state, param(ctx, 'vectorStoreId'));
  const shared = parseAttributes(body.attributes);
  let items: Array<{ fileId: string; attributes: Attributes }>;
  if (Array.isArray(body.files)) {
    items = (body.files as Array<Record<string, unknown>>).map((f, i) => {
      if (typeof f?.file_id !== 'string') throw invalidParameter(`files[${i}].file_id`, `Invalid 'files[${i}].file_id': expected a string.`);
      return { fileId: f.file_id, attributes: parseAttributes(f.attributes) ?? shared };
    });
  } else if (body.file_ids !== undefined) {
    items = parseFileIds(body.file_ids, 'file_ids').map((fileId) => ({ fileId, attributes: shared }));
  } else {
    throw missingParameter('file_ids');
  }
  if (items.length === 0) throw invalidParameter('file_ids', "Invalid 'file_ids': empty array. Expected an array with minimum length 1.");
  for (const item of items) lookupFile(state, item.fileId);
  const batch: FileBatchRecord = {
    id: state.ids.next('vsfb_'),
    vectorStoreId: store.id,
    createdAt: state.nowSeconds(),
    createdAtMs: clock.nowMs(),
    fileIds: items.map((i) => i.fileId),
    cancelledAtMs: null,
  };
  state.fileBatches.set(batch.id, batch);
  ctx.entry.batchId = batch.id;
  attachFiles(ctx, store.id, items, batch.id);
  return jsonResponse(serializeBatch(state, batch));
}

function retrieveBatch(ctx: RouteContext): RouteResult {
  const { state } = ctx.runtime;
  return jsonResponse(serializeBatch(state, lookupBatch(ctx)));
}

function cancelBatch(ctx: RouteContext): RouteResult {
  const { state, clock } = ctx.runtime;
  const batch = lookupBatch(ctx);
  if (state.batchStatus(batch) === 'in_progress') {
    const now = clock.nowMs();
    batch.cancelledAtMs = now;
    for (const file of state.batchFiles(batch)) if (state.vectorStoreFileStatus(file) === 'in_progress') file.cancelledAtMs = now;
  }
  return jsonResponse(serializeBatch(state, batch));
}

function listBatchFiles(ctx: RouteContext): RouteResult {
  const { state } = ctx.runtime;
  const batch = lookupBatch(ctx);
  return jsonResponse(paginate(filtered(state, state.batchFiles(batch), ctx.url), ctx.url));
}

function lookupBatch(ctx: RouteContext): FileBatchRecord {
  const storeId = param(ctx, 'vectorStoreId');
  const id = param(ctx, 'batchId');
  lookupStore(ctx.runtime.state, storeId);
  const batch = ctx.runtime.state.fileBatches.get(id);
  if (!batch || batch.vectorStoreId !== storeId) throw new ProviderHttpError(notFound(`No file batch found with id '${id}' in vector store '${storeId}'.`, null, null));
  return batch;
}

function lookupStoreFile(state: FakeState, storeId: string, fileId: string): VectorStoreFileRecord {
  lookupStore(state, storeId);
  const record = state.filesOf(storeId).get(fileId);
  if (!record) throw new ProviderHttpError(notFound(`No file found with id '${fileId}' in vector store '${storeId}'.`, null, null));
  return record;
}

const FILTERS: ReadonlySet<string> = new Set(['in_progress', 'completed', 'failed', 'cancelled']);

function filtered(state: FakeState, records: VectorStoreFileRecord[], url: URL): Array<Record<string, unknown> & { id: string }> {
  const filter = url.searchParams.get('filter');
  if (filter !== null && !FILTERS.has(filter)) throw invalidParameter('filter', `Invalid 'filter': expected one of ${[...FILTERS].join(', ')}.`);
  return records.filter((r) => filter === null || state.vectorStoreFileStatus(r) === (filter as VectorStoreFileStatus)).map((r) => serializeStoreFile(state, r));
}

export function serializeStoreFile(state: FakeState, record: VectorStoreFileRecord): Record<string, unknown> & { id: string } {
  const status = state.vectorStoreFileStatus(record);
  return {
    id: record.fileId,
    object: 'vector_store.file',
    created_at: record.createdAt,
    vector_store_id: record.vectorStoreId,
    status,
    usage_bytes: status === 'completed' ? record.usageBytes : 0,
    last_error: status === 'failed' ? record.lastError : null,
    attributes: record.attributes ?? {},
    chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } },
  };
}

function serializeBatch(state: FakeState, batch: FileBatchRecord): Record<string, unknown> {
  return {
    id: batch.id,
    object: 'vector_store.files_batch',
    created_at: batch.createdAt,
    vector_store_id: batch.vectorStoreId,
    status: state.batchStatus(batch),
    file_counts: state.fileCounts(state.batchFiles(batch)),
  };
}

function parseAttributes(value: unknown): Attributes {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParameter('attributes', "Invalid 'attributes': expected an object.");
  return value as Attributes;
}
