import type { FakeClock } from './clock.ts';
import { epochSeconds } from './clock.ts';
import type { IdFactory } from './ids.ts';

/**
 * The fake's provider-side state: what a real account would hold. Records keep
 * monotonic creation times so statuses (background responses, file processing) are
 * computed from elapsed time on every read, never advanced by timers.
 */

export type ResponseFinalStatus = 'completed' | 'failed' | 'incomplete' | 'cancelled';
export type ResponseStatus = 'queued' | 'in_progress' | ResponseFinalStatus;

/** How a background response advances, in ms from its creation. */
export interface BackgroundSchedule {
  queuedMs: number;
  inProgressMs: number;
  final: ResponseFinalStatus;
}

export interface FunctionCallRecord {
  callId: string;
  itemId: string;
  name: string;
  arguments: string;
}

export interface ResponseRecord {
  id: string;
  model: string;
  createdAt: number;
  createdAtMs: number;
  background: boolean;
  stream: boolean;
  previousResponseId: string | null;
  instructions: string | null;
  /** The request body as received, for tests that inspect what reached the model. */
  request: Record<string, unknown>;
  answer: string;
  vectorStoreIds: string[];
  functionCall: FunctionCallRecord | null;
  schedule: BackgroundSchedule;
  cancelledAtMs: number | null;
  inputTokens: number;
  outputTokens: number;
  metadata: Record<string, string> | null;
  messageId: string;
  fileSearchCallId: string | null;
  /** Queries sent to file_search, echoed in the `file_search_call` output item. */
  fileSearchQueries: string[];
}

export interface FileRecord {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  createdAt: number;
  /** UTF-8 text of the upload, searched by `vector_stores.search` and file_search. */
  content: string;
}

export interface ExpiresAfter {
  anchor: 'last_active_at';
  days: number;
}

export interface VectorStoreRecord {
  id: string;
  name: string;
  metadata: Record<string, string> | null;
  createdAt: number;
  lastActiveAt: number;
  expiresAfter: ExpiresAfter | null;
}

export type VectorStoreFileOutcome = 'completed' | 'failed' | 'cancelled';
export type VectorStoreFileStatus = 'in_progress' | VectorStoreFileOutcome;

export interface VectorStoreFileRecord {
  fileId: string;
  vectorStoreId: string;
  batchId: string | null;
  createdAt: number;
  createdAtMs: number;
  /** Time the file stays `in_progress`; `Infinity` for a stuck file. */
  processingMs: number;
  outcome: VectorStoreFileOutcome;
  lastError: { code: 'server_error' | 'unsupported_file' | 'invalid_file'; message: string } | null;
  cancelledAtMs: number | null;
  attributes: Record<string, string | number | boolean> | null;
  usageBytes: number;
}

export interface FileBatchRecord {
  id: string;
  vectorStoreId: string;
  createdAt: number;
  createdAtMs: number;
  fileIds: string[];
  cancelledAtMs: number | null;
}

/** Per-instance provider state. Maps iterate in creation order. */
export class FakeState {
  readonly responses = new Map<string, ResponseRecord>();
  readonly files = new Map<string, FileRecord>();
  readonly vectorStores = new Map<string, VectorStoreRecord>();
  /** Keyed by vector store id, then file id. */
  readonly vectorStoreFiles = new Map<string, Map<string, VectorStoreFileRecord>>();
  readonly fileBatches = new Map<string, FileBatchRecord>();
  readonly clock: FakeClock;
  readonly ids: IdFactory;

  constructor(clock: FakeClock, ids: IdFactory) {
    this.clock = clock;
    this.ids = ids;
  }

  addFile(init: { filename: string; purpose?: string; content: string; bytes?: number }): FileRecord {
    const record: FileRecord = {
      id: this.ids.next('file-'),
      filename: init.filename,
      purpose: init.purpose ?? 'assistants',
      bytes: init.bytes ?? Buffer.byteLength(init.content),
      createdAt: this.nowSeconds(),
      content: init.content,
    };
    this.files.set(record.id, record);
    return record;
  }

  addVectorStore(init: { name?: string; metadata?: Record<string, string> | null; expiresAfter?: ExpiresAfter | null; createdAt?: number; lastActiveAt?: number }): VectorStoreRecord {
    const now = this.nowSeconds();
    const record: VectorStoreRecord = {
      id: this.ids.next('vs_'),
      name: init.name ?? '',
      metadata: init.metadata ?? null,
      createdAt: init.createdAt ?? now,
      lastActiveAt: init.lastActiveAt ?? init.createdAt ?? now,
      expiresAfter: init.expiresAfter ?? null,
    };
    this.vectorStores.set(record.id, record);
    this.filesOf(record.id);
    return record;
  }

  /** Attaches an existing file to a store; it processes for `processingMs`, then takes `outcome`. */
  attachFile(
    vectorStoreId: string,
    fileId: string,
    init: Partial<Pick<VectorStoreFileRecord, 'batchId' | 'processingMs' | 'outcome' | 'lastError' | 'attributes'>> = {},
  ): VectorStoreFileRecord {
    const outcome = init.outcome ?? 'completed';
    const record: VectorStoreFileRecord = {
      fileId,
      vectorStoreId,
      batchId: init.batchId ?? null,
      createdAt: this.nowSeconds(),
      createdAtMs: this.clock.nowMs(),
      processingMs: init.processingMs ?? 0,
      outcome,
      lastError: init.lastError ?? (outcome === 'failed' ? { code: 'server_error', message: 'The file could not be processed.' } : null),
      cancelledAtMs: null,
      attributes: init.attributes ?? null,
      usageBytes: outcome === 'completed' ? (this.files.get(fileId)?.bytes ?? 0) : 0,
    };
    const files = this.filesOf(vectorStoreId);
    // Re-attaching replaces the old record but keeps its place, as the provider does.
    files.set(fileId, record);
    const store = this.vectorStores.get(vectorStoreId);
    if (store) store.lastActiveAt = this.nowSeconds();
    return record;
  }

  nowSeconds(): number {
    return epochSeconds(this.clock);
  }

  filesOf(vectorStoreId: string): Map<string, VectorStoreFileRecord> {
    let files = this.vectorStoreFiles.get(vectorStoreId);
    if (!files) {
      files = new Map();
      this.vectorStoreFiles.set(vectorStoreId, files);
    }
    return files;
  }

  /** KI-15: make the provider forget a response, as after its retention ran out. */
  forgetResponse(id: string): boolean {
    return this.responses.delete(id);
  }

  responseStatus(record: ResponseRecord): ResponseStatus {
    if (record.cancelledAtMs !== null) return 'cancelled';
    const elapsed = this.clock.nowMs() - record.createdAtMs;
    const { queuedMs, inProgressMs, final } = record.schedule;
    if (elapsed < queuedMs) return 'queued';
    if (elapsed < queuedMs + inProgressMs) return 'in_progress';
    return final;
  }

  vectorStoreFileStatus(record: VectorStoreFileRecord): VectorStoreFileStatus {
    const now = this.clock.nowMs();
    const doneAtMs = record.createdAtMs + record.processingMs;
    if (record.cancelledAtMs !== null && record.cancelledAtMs < doneAtMs) return 'cancelled';
    return now < doneAtMs ? 'in_progress' : record.outcome;
  }

  /** Counts by status over the given store files, as `file_counts` reports them. */
  fileCounts(records: Iterable<VectorStoreFileRecord>): FileCounts {
    const counts: FileCounts = { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };
    for (const record of records) {
      counts[this.vectorStoreFileStatus(record)] += 1;
      counts.total += 1;
    }
    return counts;
  }

  /** A seconds-resolution expiry, computed as the real API does from `last_active_at`. */
  expiresAt(store: VectorStoreRecord): number | null {
    return store.expiresAfter ? store.lastActiveAt + store.expiresAfter.days * 86_400 : null;
  }

  vectorStoreStatus(store: VectorStoreRecord): 'expired' | 'in_progress' | 'completed' {
    const expiresAt = this.expiresAt(store);
    if (expiresAt !== null && this.nowSeconds() >= expiresAt) return 'expired';
    const counts = this.fileCounts(this.filesOf(store.id).values());
    return counts.in_progress > 0 ? 'in_progress' : 'completed';
  }

  batchStatus(batch: FileBatchRecord): 'in_progress' | 'completed' | 'cancelled' | 'failed' {
    const counts = this.fileCounts(this.batchFiles(batch));
    if (counts.in_progress > 0) return batch.cancelledAtMs !== null ? 'cancelled' : 'in_progress';
    if (batch.cancelledAtMs !== null && counts.cancelled > 0) return 'cancelled';
    if (counts.total > 0 && counts.failed === counts.total) return 'failed';
    return 'completed';
  }

  batchFiles(batch: FileBatchRecord): VectorStoreFileRecord[] {
    const files = this.filesOf(batch.vectorStoreId);
    const out: VectorStoreFileRecord[] = [];
    for (const id of batch.fileIds) {
      const record = files.get(id);
      if (record && record.batchId === batch.id) out.push(record);
    }
    return out;
  }

  /** A small JSON-able summary for control endpoints and debugging. */
  snapshot(): StateSnapshot {
    return {
      responses: [...this.responses.values()].map((r) => ({
        id: r.id,
        model: r.model,
        status: this.responseStatus(r),
        background: r.background,
        previous_response_id: r.previousResponseId,
        vector_store_ids: r.vectorStoreIds,
      })),
      files: [...this.files.values()].map((f) => ({ id: f.id, filename: f.filename, bytes: f.bytes, purpose: f.purpose })),
      vectorStores: [...this.vectorStores.values()].map((s) => ({
        id: s.id,
        name: s.name,
        metadata: s.metadata,
        status: this.vectorStoreStatus(s),
        file_counts: this.fileCounts(this.filesOf(s.id).values()),
        last_active_at: s.lastActiveAt,
        expires_at: this.expiresAt(s),
      })),
      fileBatches: [...this.fileBatches.values()].map((b) => ({
        id: b.id,
        vector_store_id: b.vectorStoreId,
        status: this.batchStatus(b),
        file_counts: this.fileCounts(this.batchFiles(b)),
      })),
    };
  }
}

export interface FileCounts {
  in_progress: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

export interface StateSnapshot {
  responses: Array<{
    id: string;
    model: string;
    status: ResponseStatus;
    background: boolean;
    previous_response_id: string | null;
    vector_store_ids: string[];
  }>;
  files: Array<{ id: string; filename: string; bytes: number; purpose: string }>;
  vectorStores: Array<{
    id: string;
    name: string;
    metadata: Record<string, string> | null;
    status: string;
    file_counts: FileCounts;
    last_active_at: number;
    expires_at: number | null;
  }>;
  fileBatches: Array<{ id: string; vector_store_id: string; status: string; file_counts: FileCounts }>;
}
