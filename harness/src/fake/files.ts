import { missingParameter, param, ProviderHttpError } from './context.ts';
import type { RouteContext, RouteDefinition, RouteResult } from './context.ts';
import { FAKE_DEFAULTS } from './defaults.ts';
import { jsonResponse } from './errors.ts';
import { lookupFile } from './lookups.ts';
import { paginate } from './pagination.ts';
import type { FileRecord } from './state.ts';

/** OpenAI Files: multipart upload, retrieve, list, delete. */

export const fileRoutes: RouteDefinition[] = [
  { route: 'files.create', provider: 'openai', method: 'post', path: '/files', handle: createFile },
  { route: 'files.list', provider: 'openai', method: 'get', path: '/files', handle: listFiles },
  { route: 'files.retrieve', provider: 'openai', method: 'get', path: '/files/:fileId', handle: retrieveFile },
  { route: 'files.delete', provider: 'openai', method: 'delete', path: '/files/:fileId', handle: deleteFile },
];

const PURPOSES = new Set(['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals']);

async function createFile(ctx: RouteContext): Promise<RouteResult> {
  const form = ctx.form;
  if (!form) {
    throw new ProviderHttpError({ status: 400, message: "Invalid request: expected multipart/form-data with 'file' and 'purpose'.", type: 'invalid_request_error', param: null, code: null });
  }
  const purpose = form.get('purpose');
  if (typeof purpose !== 'string' || !purpose) throw missingParameter('purpose');
  if (!PURPOSES.has(purpose)) {
    throw new ProviderHttpError({ status: 400, message: `'${purpose}' is not one of ${[...PURPOSES].map((p) => `'${p}'`).join(', ')} - 'purpose'`, type: 'invalid_request_error', param: 'purpose', code: null });
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') throw missingParameter('file');
  const content = await file.text();
  const record = ctx.runtime.state.addFile({ filename: file.name || 'upload', purpose, content, bytes: file.size });
  ctx.entry.fileId = record.id;
  return jsonResponse(serializeFile(record));
}

function listFiles(ctx: RouteContext): RouteResult {
  const purpose = ctx.url.searchParams.get('purpose');
  const all = [...ctx.runtime.state.files.values()].filter((f) => !purpose || f.purpose === purpose);
  return jsonResponse(paginate(all.map(serializeFile), ctx.url, { defaultLimit: FAKE_DEFAULTS.FILES_LIST_LIMIT_DEFAULT, maxLimit: FAKE_DEFAULTS.FILES_LIST_LIMIT_MAX }));
}

function retrieveFile(ctx: RouteContext): RouteResult {
  return jsonResponse(serializeFile(lookupFile(ctx.runtime.state, param(ctx, 'fileId'))));
}

function deleteFile(ctx: RouteContext): RouteResult {
  const { state } = ctx.runtime;
  const record = lookupFile(state, param(ctx, 'fileId'));
  state.files.delete(record.id);
  // The provider drops a deleted file's chunks from every store that held it.
  for (const files of state.vectorStoreFiles.values()) files.delete(record.id);
  return jsonResponse({ id: record.id, object: 'file', deleted: true });
}

export function serializeFile(record: FileRecord): Record<string, unknown> & { id: string } {
  return {
    id: record.id,
    object: 'file',
    bytes: record.bytes,
    created_at: record.createdAt,
    expires_at: null,
    filename: record.filename,
    purpose: record.purpose,
    status: 'processed',
    status_details: null,
  };
}
