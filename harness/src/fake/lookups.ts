import { invalidParameter, ProviderHttpError } from './context.ts';
import { notFound } from './errors.ts';
import type { FakeState, FileRecord, VectorStoreRecord } from './state.ts';

/** Lookups shared by the file and vector-store routes, answering 404 the provider's way. */

export function lookupFile(state: FakeState, id: string): FileRecord {
  const record = state.files.get(id);
  if (!record) throw new ProviderHttpError(notFound(`No such File object: ${id}`, 'id', null));
  return record;
}

export function lookupStore(state: FakeState, id: string): VectorStoreRecord {
  const store = state.vectorStores.get(id);
  if (!store) throw new ProviderHttpError(notFound(`No vector store found with id '${id}'.`, null, null));
  return store;
}

export function parseFileIds(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw invalidParameter(name, `Invalid '${name}': expected an array of file ids.`);
  return value;
}
