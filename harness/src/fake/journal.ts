import { EventEmitter } from 'node:events';
import type { SpecViolation } from '../spec/oracle.ts';
import type { ProviderName, RouteId } from './routes.ts';

/**
 * The request journal: one entry per request the fake saw, updated as it goes
 * (started, answered, ended or aborted). Drivers subscribe to it to act at a precise
 * moment ("cancel when the third upload started") and assert on it afterwards
 * ("every upstream request was aborted within 50 ms").
 */

export interface JournalEntry {
  /** 1-based, in arrival order. */
  id: number;
  /** The `x-request-id` header sent back (the SDK exposes it as `_request_id`). */
  requestId: string;
  route: RouteId;
  provider: ProviderName;
  method: string;
  /** Path under the provider base, e.g. `/responses/resp_…`. */
  path: string;
  /** The nth request to this route (1-based). */
  routeCall: number;
  /** `performance.now()`-style monotonic ms. */
  startMs: number;
  startWallMs: number;
  /** When the status and headers were ready; `null` until then. */
  respondedMs: number | null;
  /** When the body finished or the request ended otherwise; `null` while open. */
  endMs: number | null;
  endWallMs: number | null;
  /** HTTP status; `0` for a network error; `null` until known. */
  status: number | null;
  /** True when the client went away before the response body finished. */
  aborted: boolean;
  abortedAtMs: number | null;
  abortedAtWallMs: number | null;
  /** Last four characters of the API key, never more. */
  keyLast4: string | null;
  /** Correlation id from the `x-sb-call` request header. */
  call: string | null;
  model?: string;
  previousResponseId?: string;
  background?: boolean;
  stream?: boolean;
  vectorStoreId?: string;
  responseId?: string;
  fileId?: string;
  fileName?: string;
  batchId?: string;
  fileCount?: number;
  /** Fault types applied to this request. */
  faults: string[];
  /** Why the account model answered 429, if it did. */
  throttled?: 'requests' | 'tokens' | 'throttle-window';
  /** `error.code` of an error body the fake sent. */
  errorCode?: string | null;
  /** Where the request or the fake's response departed from the OpenAI spec (`spec-check.ts`). */
  specViolations?: SpecViolation[];
}

export type JournalEvent = 'request' | 'response' | 'end' | 'abort';

export type JournalListener = (entry: JournalEntry, event: JournalEvent) => void;

/** Default bound on retained entries; older ones are dropped and counted. */
export const DEFAULT_JOURNAL_LIMIT = 10_000;

export class Journal {
  readonly #emitter = new EventEmitter();
  #entries: JournalEntry[] = [];
  #nextId = 1;
  #dropped = 0;
  #listenerErrors = 0;
  readonly #limit: number;

  constructor(limit = DEFAULT_JOURNAL_LIMIT) {
    if (!(limit >= 1)) throw new RangeError(`journalLimit must be >= 1, got ${limit}`);
    this.#limit = limit;
    // Many concurrent waitFor() calls are normal in drivers.
    this.#emitter.setMaxListeners(0);
  }

  /** Entries retained so far, oldest first (a copy of the list; entries are live). */
  entries(): JournalEntry[] {
    return [...this.#entries];
  }

  /** Entries with an id greater than `afterId`. */
  since(afterId: number): JournalEntry[] {
    return this.#entries.filter((e) => e.id > afterId);
  }

  /** Entries dropped because the journal hit its bound. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Listener calls that threw (and were contained). */
  get listenerErrors(): number {
    return this.#listenerErrors;
  }

  clear(): void {
    this.#entries = [];
  }

  /** Subscribes to every event; `'update'` is an alias receiving all of them. Returns an unsubscribe function. */
  on(event: JournalEvent | 'update', listener: JournalListener): () => void {
    const wrapped = (entry: JournalEntry, kind: JournalEvent) => {
      if (event !== 'update' && event !== kind) return;
      try {
        listener(entry, kind);
      } catch {
        // A driver's listener must never break the request it observes.
        this.#listenerErrors += 1;
      }
    };
    this.#emitter.on('event', wrapped);
    return () => this.#emitter.off('event', wrapped);
  }

  /**
   * Resolves with the first entry that satisfies `predicate`, checking retained
   * entries first and then every later event. Rejects after `timeoutMs` or when
   * `signal` aborts.
   *
   * @example
   * const third = await fake.journal.waitFor((e) => e.route === 'files.create' && e.routeCall === 3, 2_000);
   */
  waitFor(predicate: (entry: JournalEntry, event: JournalEvent | 'existing') => boolean, timeoutMs: number, signal?: AbortSignal): Promise<JournalEntry> {
    for (const entry of this.#entries) {
      if (predicate(entry, 'existing')) return Promise.resolve(entry);
    }
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        cleanup();
        reject(signal?.reason ?? new Error('waitFor aborted'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`journal.waitFor: no matching entry within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      const off = this.on('update', (entry, event) => {
        if (!predicate(entry, event)) return;
        cleanup();
        resolve(entry);
      });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Starts an entry for a new request. */
  start(fields: Omit<JournalEntry, 'id' | 'respondedMs' | 'endMs' | 'endWallMs' | 'status' | 'aborted' | 'abortedAtMs' | 'abortedAtWallMs' | 'faults'>): JournalEntry {
    const entry: JournalEntry = {
      id: this.#nextId++,
      respondedMs: null,
      endMs: null,
      endWallMs: null,
      status: null,
      aborted: false,
      abortedAtMs: null,
      abortedAtWallMs: null,
      faults: [],
      ...fields,
    };
    this.#entries.push(entry);
    if (this.#entries.length > this.#limit) {
      this.#entries.shift();
      this.#dropped += 1;
    }
    this.emit(entry, 'request');
    return entry;
  }

  emit(entry: JournalEntry, event: JournalEvent): void {
    this.#emitter.emit('event', entry, event);
  }
}
