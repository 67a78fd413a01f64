/**
 * Project memory, written in the background after each answered call (KI-11).
 *
 * - `enqueue` is synchronous and O(size bound): it copies a bounded slice of the item
 *   and returns. It never awaits, never throws into the caller, and never runs git.
 * - The queue is bounded (`maxQueued`); when full the oldest entry is dropped (or the
 *   new one rejected), and every drop is counted.
 * - One worker at a time; each task has a deadline; git runs through async `execFile`
 *   with a timeout and the task's signal.
 * - Failures are counted and logged, never thrown into a later call.
 * - `close(deadlineMs)` stops intake, lets the queue drain until the deadline, then
 *   aborts the running task and drops the rest.
 */
import { context, trace, type SpanContext } from '@opentelemetry/api';
import { recordError, tracer } from '../telemetry/spans.ts';
import type OpenAI from 'openai';
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError, isAbortError } from '../errors.ts';
import { logger, type Logger } from '../logging/logger.ts';
import type { Db } from '../state/db.ts';
import { boundItem, entryAttributes, formatEntry, type BoundedItem, type MemoryItem } from './entry.ts';
import { readGitInfo, type EntryGitInfoFn, type GitInfo, type GitInfoFn } from './git-info.ts';
import { MemoryStore } from './memory-store.ts';
import { deadline } from '../runtime/deadline.ts';

export interface MemoryQueueOptions {
  client: OpenAI;
  db: Db;
  instanceId: string;
  /** Root of the project; its hash names the memory store, and git runs here. */
  projectRoot: string;
  /** Memory off: enqueue is a no-op and search returns []. Default true. */
  enabled?: boolean;
  /** Bound of the queue. Default DEFAULTS.MEMORY_QUEUE_MAX (16). */
  maxQueued?: number;
  /** When full: drop the oldest queued entry (default) or reject the new one. */
  overflow?: 'drop-oldest' | 'reject';
  /** Deadline of one task (git + upload + indexing). Default DEFAULTS.MEMORY_TASK_TIMEOUT_MS (60 s). */
  taskTimeoutMs?: number;
  /** Deadline of each git command. Default DEFAULTS.GIT_TIMEOUT_MS (5 s). */
  gitTimeoutMs?: number;
  /** Characters of question and answer kept per entry. Default DEFAULTS.MEMORY_ENTRY_MAX_CHARS (8 000). */
  entryMaxChars?: number;
  /** Provider-side expiry of the memory store. Default DEFAULTS.MEMORY_STORE_EXPIRES_AFTER_DAYS (90). */
  storeExpiresAfterDays?: number;
  /** Poll interval while the provider indexes an entry. Default 500 ms. */
  pollIntervalMs?: number;
  /** Compaction (see MemoryStore): entries and bytes per digest document, documents kept per store. */
  digestMaxEntries?: number;
  digestMaxBytes?: number;
  maxDocuments?: number;
  /** Replaces the git reader (tests). */
  gitInfo?: GitInfoFn;
  /**
   * Replaces the whole reading of one entry's git labels, cache included (the seam a test
   * defect uses to put back the first version's synchronous git; defects/memory.ts).
   */
  entryGitInfo?: EntryGitInfoFn;
  /** Branch and HEAD are reused for entries written within this long. Default DEFAULTS.MEMORY_GIT_INFO_TTL_MS (5 s); 0 reads git for every entry. */
  gitInfoTtlMs?: number;
}

export type MemoryStats = {
  enabled: boolean;
  /** Entries waiting. */
  queued: number;
  /** Entries dropped: queue full, or still queued at shutdown. */
  dropped: number;
  /** Tasks that failed or passed their deadline. */
  failed: number;
  /** Entries written and indexed. */
  stored: number;
  /** True while a task runs. */
  running: boolean;
  /** Digest documents in the memory store (bounded by the compaction cap). */
  documents: number;
  /** Replaced memory files whose delete was given up on. */
  staleAbandoned: number;
};

export interface HistoryResult {
  text: string;
  score: number;
  filename: string;
  recordedAt: string | null;
  branch: string | null;
  head: string | null;
  sessionId: string | null;
  model: string | null;
  /** Always true: history describes the code as it was, not as it is. */
  possiblyOutdated: true;
  /** A line to show with the result, e.g. "Possibly outdated: recorded 2025-06-01 on main at 1a2b3c4." */
  label: string;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v && v !== 'unknown' ? v : null;
}

export class MemoryQueue {
  readonly #enabled: boolean;
  readonly #max: number;
  readonly #overflow: 'drop-oldest' | 'reject';
  readonly #taskTimeoutMs: number;
  readonly #gitTimeoutMs: number;
  readonly #entryMaxChars: number;
  readonly #projectRoot: string;
  readonly #git: GitInfoFn;
  readonly #entryGit: EntryGitInfoFn;
  readonly #store: MemoryStore;
  readonly #log: Logger;
  readonly #queue: BoundedItem[] = [];
  readonly #shutdown = new AbortController();
  #closing = false;
  #worker: Promise<void> | undefined;
  #dropped = 0;
  #failed = 0;
  #stored = 0;
  readonly #gitInfoTtlMs: number;
  #gitCache: { info: GitInfo; at: number } | undefined;

  constructor(options: MemoryQueueOptions) {
    this.#enabled = options.enabled ?? true;
    this.#max = options.maxQueued ?? DEFAULTS.MEMORY_QUEUE_MAX;
    this.#overflow = options.overflow ?? 'drop-oldest';
    this.#taskTimeoutMs = options.taskTimeoutMs ?? DEFAULTS.MEMORY_TASK_TIMEOUT_MS;
    this.#gitTimeoutMs = options.gitTimeoutMs ?? DEFAULTS.GIT_TIMEOUT_MS;
    this.#entryMaxChars = options.entryMaxChars ?? DEFAULTS.MEMORY_ENTRY_MAX_CHARS;
    const nums: Array<[string, number]> = [['maxQueued', this.#max], ['taskTimeoutMs', this.#taskTimeoutMs], ['gitTimeoutMs', this.#gitTimeoutMs], ['entryMaxChars', this.#entryMaxChars],
      ['digestMaxEntries', options.digestMaxEntries ?? 1], ['digestMaxBytes', options.digestMaxBytes ?? 1], ['maxDocuments', options.maxDocuments ?? 1]];
    for (const [name, v] of nums) {
      if (!Number.isInteger(v) || v < 1) throw new SbError(ErrorCode.CONFIG, `MemoryQueue option "${name}" must be an integer >= 1; got ${v}.`);
    }
    if (this.#overflow !== 'drop-oldest' && this.#overflow !== 'reject') {
      throw new SbError(ErrorCode.CONFIG, `MemoryQueue option "overflow" must be "drop-oldest" or "reject"; got ${JSON.stringify(options.overflow)}.`);
    }
    this.#projectRoot = options.projectRoot;
    this.#git = options.gitInfo ?? readGitInfo;
    this.#entryGit = options.entryGitInfo ?? ((_root, _files, signal) => this.#gitInfo(signal));
    this.#gitInfoTtlMs = options.gitInfoTtlMs ?? DEFAULTS.MEMORY_GIT_INFO_TTL_MS;
    if (!Number.isInteger(this.#gitInfoTtlMs) || this.#gitInfoTtlMs < 0) throw new SbError(ErrorCode.CONFIG, `MemoryQueue option "gitInfoTtlMs" must be an integer >= 0; got ${this.#gitInfoTtlMs}.`);
    this.#store = new MemoryStore({
      client: options.client, db: options.db, instanceId: options.instanceId, projectRoot: options.projectRoot,
      expiresAfterDays: options.storeExpiresAfterDays ?? DEFAULTS.MEMORY_STORE_EXPIRES_AFTER_DAYS,
      pollIntervalMs: options.pollIntervalMs ?? 500,
      leaseMs: this.#taskTimeoutMs,
      lifetime: this.#shutdown.signal,
      digestMaxEntries: options.digestMaxEntries, digestMaxBytes: options.digestMaxBytes, maxDocuments: options.maxDocuments,
    });
    this.#log = logger().child({ component: 'memory' });
  }

  /**
   * Queues an entry for the background worker and returns at once. False when memory
   * is off, the queue is closing, or (with overflow 'reject') full.
   */
  enqueue(item: MemoryItem): boolean {
    if (!this.#enabled || this.#closing) return false;
    if (this.#queue.length >= this.#max) {
      this.#dropped++;
      if (this.#overflow === 'reject') return false;
      this.#queue.shift();
    }
    try {
      // The storage work gets its own trace, linked to the call that produced it, so the
      // call's trace ends with the reply instead of staying open for background work.
      const link = trace.getActiveSpan()?.spanContext();
      this.#queue.push(Object.assign(boundItem(item, this.#entryMaxChars), link ? { link } : {}));
    } catch (err) {
      this.#failed++;
      this.#log.warn({ err }, 'memory entry could not be queued');
      return false;
    }
    this.#kick();
    return true;
  }

  #kick(): void {
    if (this.#worker) return;
    // Started on a later turn, so the caller's reply goes out first.
    this.#worker = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain()).finally(() => {
      this.#worker = undefined;
      if (this.#queue.length > 0 && !this.#shutdown.signal.aborted) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#shutdown.signal.aborted) {
      const item = this.#queue.shift()!;
      // Cleared when the task ends, so a finished task's signals are not pinned for the deadline.
      const taskDeadline = deadline(this.#taskTimeoutMs, this.#shutdown.signal);
      const signal = taskDeadline.signal;
      try {
        const link = (item as BoundedItem & { link?: SpanContext }).link;
        const span = tracer().startSpan('memory.store', { root: true, links: link ? [{ context: link }] : [] });
        try {
          await context.with(trace.setSpan(context.active(), span), () => this.#write(item, signal));
        } catch (err) {
          recordError(span, err);
          throw err;
        } finally {
          span.end();
        }
        this.#stored++;
      } catch (err) {
        this.#failed++;
        const reason = signal.aborted ? (this.#shutdown.signal.aborted ? 'shutdown' : 'deadline') : 'error';
        const error = err instanceof Error ? err.message.slice(0, 300) : String(err);
        if (reason === 'shutdown') this.#log.debug({ reason }, 'memory entry abandoned at shutdown');
        else this.#log.warn({ reason, error: isAbortError(err) ? undefined : error }, 'memory entry was not stored');
      } finally {
        taskDeadline.dispose();
      }
    }
  }

  async #write(item: BoundedItem, signal: AbortSignal): Promise<void> {
    const git = await this.#entryGit(this.#projectRoot, item.files, signal);
    await this.#store.write(formatEntry(item, git), entryAttributes(item, git), signal);
  }

  /**
   * Branch and HEAD, reused for `gitInfoTtlMs`: a git process per entry cost the next call
   * several ms of CPU on a busy machine, and entries recorded seconds apart share a HEAD.
   */
  async #gitInfo(signal: AbortSignal): Promise<GitInfo> {
    const now = Date.now();
    if (this.#gitCache && now - this.#gitCache.at < this.#gitInfoTtlMs) return this.#gitCache.info;
    const info = await this.#git(this.#projectRoot, signal, this.#gitTimeoutMs);
    this.#gitCache = { info, at: now };
    return info;
  }

  /** Diagnostics (cheap, synchronous). */
  stats(): MemoryStats {
    return {
      enabled: this.#enabled, queued: this.#queue.length, dropped: this.#dropped, failed: this.#failed,
      stored: this.#stored, running: this.#worker !== undefined,
      documents: this.#documents(), staleAbandoned: this.#store.staleAbandoned,
    };
  }

  #documents(): number {
    try { return this.#enabled ? this.#store.documentCount() : 0; } catch { return 0; }
  }

  /** The memory store id, for the file_search tool; undefined when memory is off or empty. */
  storeId(): string | undefined {
    if (!this.#enabled) return undefined;
    try { return this.#store.storeId(); } catch { return undefined; }
  }

  /**
   * Searches earlier conversations about this project. Every result is labelled as
   * possibly outdated, with the date, branch and HEAD it was recorded at.
   */
  async searchProjectHistory(input: { query: string; maxResults: number; signal: AbortSignal }): Promise<HistoryResult[]> {
    if (!this.#enabled) return [];
    const max = Math.min(50, Math.max(1, Math.floor(input.maxResults)));
    const hits = await this.#store.search(input.query, max, input.signal);
    return hits.map((h) => {
      const a = h.attributes ?? {};
      const recordedAt = str(a.recorded_at);
      const branch = str(a.branch);
      const head = str(a.head);
      const where = [branch ? `on ${branch}` : undefined, head ? `at ${head.slice(0, 7)}` : undefined].filter(Boolean).join(' ');
      const label = `Possibly outdated: recorded ${recordedAt ? recordedAt.slice(0, 10) : 'at an unknown date'}${where ? ` ${where}` : ''}; the code may have changed since.`;
      return {
        text: h.content.map((c) => c.text).join('\n'),
        score: h.score,
        filename: h.filename,
        recordedAt, branch, head,
        sessionId: str(a.session),
        model: str(a.model),
        possiblyOutdated: true as const,
        label,
      };
    });
  }

  /** The call flow's name for searchProjectHistory. */
  search(input: { query: string; maxResults: number; signal: AbortSignal }): Promise<HistoryResult[]> {
    return this.searchProjectHistory(input);
  }

  /**
   * Stops intake and gives queued work until `deadlineMs` to finish; then aborts the
   * running task and drops what is left (counted). Never rejects.
   */
  async close(deadlineMs: number): Promise<void> {
    this.#closing = true;
    const worker = this.#worker;
    if (worker) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, Math.max(0, deadlineMs)); });
      await Promise.race([worker, deadline]);
      clearTimeout(timer);
    }
    this.#shutdown.abort(new SbError(ErrorCode.SHUTTING_DOWN, 'The server is shutting down.'));
    this.#dropped += this.#queue.length;
    this.#queue.length = 0;
    await this.#worker?.catch(() => undefined);
  }
}
