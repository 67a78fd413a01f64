import { buildAnswer, estimateTokens } from './answer.ts';
import type { ExpiresAfter, FakeState, FileRecord, ResponseRecord, VectorStoreRecord } from './state.ts';

/**
 * Pre-creates provider state for a scenario: orphaned stores carrying this server's
 * metadata, stores owned by someone else (KI-13), uploaded files, and responses a
 * follow-up can point at after a restart (KI-15).
 */

export interface SeedFile {
  filename: string;
  content: string;
  purpose?: string;
}

export interface SeedVectorStore {
  name?: string;
  metadata?: Record<string, string> | null;
  expiresAfter?: ExpiresAfter | null;
  /** Seconds since the epoch; defaults to now. */
  createdAt?: number;
  /** Seconds since the epoch; defaults to `createdAt`. */
  lastActiveAt?: number;
  /** Existing file ids to attach (completed). */
  fileIds?: string[];
  /** Files to upload and attach (completed). */
  files?: SeedFile[];
}

export interface SeedResponse {
  model?: string;
  input?: string;
  instructions?: string;
  previousResponseId?: string | null;
}

export interface FakeSeed {
  file(init: SeedFile): FileRecord;
  vectorStore(init?: SeedVectorStore): VectorStoreRecord;
  /** `count` stores; `init` may depend on the index. */
  vectorStores(count: number, init?: SeedVectorStore | ((index: number) => SeedVectorStore)): VectorStoreRecord[];
  /** A completed response, as if created earlier. */
  response(init?: SeedResponse): ResponseRecord;
}

export function createSeed(state: FakeState): FakeSeed {
  const seed: FakeSeed = {
    file(init) {
      return state.addFile(init);
    },
    vectorStore(init = {}) {
      const store = state.addVectorStore(init);
      const ids = [...(init.fileIds ?? []), ...(init.files ?? []).map((f) => state.addFile(f).id)];
      for (const id of ids) {
        if (!state.files.has(id)) throw new RangeError(`seed.vectorStore: unknown file id '${id}'`);
        state.attachFile(store.id, id);
      }
      // Seeding must not make a backdated store look freshly used.
      store.lastActiveAt = init.lastActiveAt ?? init.createdAt ?? store.lastActiveAt;
      return store;
    },
    vectorStores(count, init) {
      return Array.from({ length: count }, (_, i) => seed.vectorStore(typeof init === 'function' ? init(i) : init));
    },
    response(init = {}) {
      const model = init.model ?? 'o3';
      const input = init.input ?? '';
      const answer = buildAnswer({ provider: 'openai', model, previousResponseId: init.previousResponseId ?? null, instructions: init.instructions ?? '', input });
      const record: ResponseRecord = {
        id: state.ids.next('resp_'),
        model,
        createdAt: state.nowSeconds(),
        createdAtMs: state.clock.nowMs(),
        background: false,
        stream: false,
        previousResponseId: init.previousResponseId ?? null,
        instructions: init.instructions ?? null,
        request: { model, input },
        answer,
        vectorStoreIds: [],
        functionCall: null,
        schedule: { queuedMs: 0, inProgressMs: 0, final: 'completed' },
        cancelledAtMs: null,
        inputTokens: estimateTokens(input),
        outputTokens: estimateTokens(answer),
        metadata: null,
        messageId: state.ids.next('msg_'),
        fileSearchCallId: null,
        fileSearchQueries: [],
      };
      state.responses.set(record.id, record);
      return record;
    },
  };
  return seed;
}
