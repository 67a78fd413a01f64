/**
 * The janitor: deletes this server's debris, off the request path (KI-02, KI-13).
 *
 * - Stores: expired ones, idle ones past their TTL, half-made ones of dead instances
 *   (a process killed with SIGKILL during an upload), and stores created upstream but
 *   never recorded. A store whose metadata names another owner, or an instance this
 *   state dir never saw, is never touched. The project memory store is never touched.
 * - Files: file objects no store references, and file objects an interrupted upload may
 *   have created without us learning their id (the upload journal).
 * - Claims and leases of dead processes are released.
 * - Owed deletes (vs_pending_deletes) are retried with backoff, a bounded number of times.
 *
 * It shares nothing with requests: its own delete concurrency, its own deadlines, its
 * own throttle view (it only defers while the account is throttled), no limiter slots.
 */
import type OpenAI from 'openai';
import { basename } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError, abortReasonToError } from '../errors.ts';
import { logger, type Logger } from '../logging/logger.ts';
import { withTransaction, type Db } from '../state/db.ts';
import { oweFileDeletes, runOwedDelete, type CleanupDeps } from './cleanup.ts';
import { HOST, instanceGone, KIND_MEMORY, ownershipOf } from './ownership.ts';
import { forEachLimit } from './pool.ts';
import { VectorState, type JournalRow, type StoreRow } from './state.ts';
import { listProviderStores, MAX_LIST_PAGES } from './stores.ts';
import { ThrottleGate, type RateLimitBoard } from '../resilience/throttle-gate.ts';
import { withRetry } from './upstream.ts';
import { defectOn } from '../config/test-defects.ts';

export interface JanitorOptions {
  client: OpenAI;
  db: Db;
  /** This process's instance id (the same one the manager uses). */
  instanceId: string;
  /** Period of `start()`. Default DEFAULTS.JANITOR_INTERVAL_MS (10 min). */
  intervalMs?: number;
  /** Delay of the first pass after `start()`. Default DEFAULTS.JANITOR_STARTUP_DELAY_MS (5 s). */
  startupDelayMs?: number;
  /** Deadline of that first pass. Default DEFAULTS.JANITOR_STARTUP_RUN_TIMEOUT_MS (50 s). */
  startupRunTimeoutMs?: number;
  /** A session store unused this long is deleted. Default DEFAULTS.STORE_IDLE_TTL_MS (24 h). */
  storeIdleTtlMs?: number;
  /** Deletes at once. Default DEFAULTS.JANITOR_DELETE_CONCURRENCY (2). */
  deleteConcurrency?: number;
  /** Deadline of one delete request. Default DEFAULTS.CLEANUP_REQUEST_TIMEOUT_MS (5 s). */
  deleteTimeoutMs?: number;
  /** Tries per owed delete before it is dropped (provider expiry is the backstop). Default 8. */
  deleteMaxAttempts?: number;
  /** First backoff of a failed delete, doubled per attempt. Default 30 s. */
  retryBaseMs?: number;
  /** An instance on another host is presumed dead after this long unseen. Default 1 h. */
  instanceStaleMs?: number;
  /** A store created upstream but not recorded is debris after this long. Default 60 s. */
  orphanGraceMs?: number;
  /** An upload journal row of a live process is treated as abandoned after this long. Default lease + request timeout. */
  journalGraceMs?: number;
  /** Longest an upload request may take (the manager's limit). Default DEFAULTS.UPLOAD_REQUEST_TIMEOUT_MS. */
  uploadRequestTimeoutMs?: number;
  /** Owed deletes handled per run. Default 500. */
  maxDeletesPerRun?: number;
  rateLimits?: RateLimitBoard;
  /** The provider account's throttle gate, shared with the chat calls (services.ts); without it, one of its own on `rateLimits`. */
  gate?: ThrottleGate;
}

/** What a run found among the provider's stores. */
interface DebrisStores {
  listed: Awaited<ReturnType<typeof listProviderStores>>;
  /** The listing was complete (not cut at the page limit), so absence means gone. */
  complete: boolean;
  rows: Map<string, StoreRow>;
  toDelete: string[];
}

export interface JanitorReport {
  storesDeleted: number;
  filesDeleted: number;
  detached: number;
  /** Upload claims and leases released because their owner died or their lease lapsed. */
  leasesReleased: number;
  /** Upload journal rows resolved (and provider files they matched, deleted). */
  journalResolved: number;
  orphanFilesFound: number;
  /** Deletes that failed this run (retried later) and ones given up for good. */
  deleteFailures: number;
  deletesAbandoned: number;
  /** Deletes still owed after the run. */
  pendingDeletes: number;
  /** Provider stores skipped because they belong to someone else. */
  foreignStoresSkipped: number;
  /** True when the run deferred upstream work because the account is throttled. */
  deferred: boolean;
  durationMs: number;
}

const MAX_FILE_LIST_PAGES = DEFAULTS.JANITOR_MAX_FILE_LIST_PAGES;
const MATCH_SLACK_MS = DEFAULTS.JANITOR_MATCH_SLACK_MS;

function emptyReport(): JanitorReport {
  return {
    storesDeleted: 0, filesDeleted: 0, detached: 0, leasesReleased: 0, journalResolved: 0, orphanFilesFound: 0,
    deleteFailures: 0, deletesAbandoned: 0, pendingDeletes: 0, foreignStoresSkipped: 0, deferred: false, durationMs: 0,
  };
}

/**
 * Background cleanup of this server's vector stores and files.
 *
 * @example
 *   const janitor = new Janitor({ client, db, instanceId });
 *   janitor.start();                // once after JANITOR_STARTUP_DELAY_MS, then every JANITOR_INTERVAL_MS; unref'd
 *   manager options: onEvent: (e) => e.type === 'cleanup_owed' && janitor.kick()
 *   await janitor.stop();           // at shutdown
 */
export class Janitor {
  readonly #client: OpenAI;
  readonly #db: Db;
  readonly #state: VectorState;
  readonly #instanceId: string;
  readonly #o: Required<Omit<JanitorOptions, 'client' | 'db' | 'instanceId' | 'rateLimits' | 'gate'>>;
  readonly #gate: ThrottleGate;
  readonly #log: Logger;
  #timer: ReturnType<typeof setInterval> | undefined;
  #kickTimer: ReturnType<typeof setTimeout> | undefined;
  #startupTimer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<JanitorReport> | undefined;
  #stop = new AbortController();
  #lastReport: JanitorReport | undefined;

  constructor(options: JanitorOptions) {
    this.#client = options.client;
    this.#db = options.db;
    this.#state = new VectorState(options.db);
    this.#instanceId = options.instanceId;
    this.#o = {
      intervalMs: options.intervalMs ?? DEFAULTS.JANITOR_INTERVAL_MS,
      startupDelayMs: options.startupDelayMs ?? DEFAULTS.JANITOR_STARTUP_DELAY_MS,
      startupRunTimeoutMs: options.startupRunTimeoutMs ?? DEFAULTS.JANITOR_STARTUP_RUN_TIMEOUT_MS,
      storeIdleTtlMs: options.storeIdleTtlMs ?? DEFAULTS.STORE_IDLE_TTL_MS,
      deleteConcurrency: options.deleteConcurrency ?? DEFAULTS.JANITOR_DELETE_CONCURRENCY,
      deleteTimeoutMs: options.deleteTimeoutMs ?? DEFAULTS.CLEANUP_REQUEST_TIMEOUT_MS,
      deleteMaxAttempts: options.deleteMaxAttempts ?? DEFAULTS.JANITOR_DELETE_MAX_ATTEMPTS,
      retryBaseMs: options.retryBaseMs ?? DEFAULTS.JANITOR_RETRY_BASE_MS,
      instanceStaleMs: options.instanceStaleMs ?? DEFAULTS.INSTANCE_STALE_MS,
      orphanGraceMs: options.orphanGraceMs ?? 60_000,
      journalGraceMs: options.journalGraceMs ?? DEFAULTS.UPLOAD_LEASE_MS + DEFAULTS.UPLOAD_REQUEST_TIMEOUT_MS,
      uploadRequestTimeoutMs: options.uploadRequestTimeoutMs ?? DEFAULTS.UPLOAD_REQUEST_TIMEOUT_MS,
      maxDeletesPerRun: options.maxDeletesPerRun ?? 500,
    };
    for (const [k, v] of Object.entries(this.#o)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new SbError(ErrorCode.CONFIG, `Janitor option "${k}" must be a finite number >= 0; got ${String(v)}.`);
      }
    }
    if (this.#o.deleteConcurrency < 1 || this.#o.intervalMs < 1 || this.#o.deleteMaxAttempts < 1) {
      throw new SbError(ErrorCode.CONFIG, 'Janitor options "deleteConcurrency", "intervalMs" and "deleteMaxAttempts" must be at least 1.');
    }
    this.#gate = options.gate ?? new ThrottleGate(options.rateLimits);
    this.#log = logger().child({ component: 'janitor' });
  }

  /** The last run's report, for diagnostics. */
  get lastReport(): JanitorReport | undefined { return this.#lastReport; }

  /**
   * Runs once `startupDelayMs` after start (KI-13: a process killed mid-upload left files
   * that must not wait a whole interval), then every `intervalMs`. Both timers are unref'd:
   * they never keep the process alive, and the first pass is never on a request's path.
   */
  start(): void {
    if (this.#timer) return;
    if (this.#stop.signal.aborted) this.#stop = new AbortController();
    this.#timer = setInterval(() => this.#background(), this.#o.intervalMs);
    this.#timer.unref();
    this.#startupTimer = setTimeout(() => {
      this.#startupTimer = undefined;
      this.#background(AbortSignal.timeout(this.#o.startupRunTimeoutMs));
    }, this.#o.startupDelayMs);
    this.#startupTimer.unref();
  }

  /** Stops the timer and aborts a run in progress; resolves once it has ended. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#kickTimer) clearTimeout(this.#kickTimer);
    if (this.#startupTimer) clearTimeout(this.#startupTimer);
    this.#startupTimer = undefined;
    this.#timer = undefined;
    this.#kickTimer = undefined;
    this.#stop.abort(new SbError(ErrorCode.SHUTTING_DOWN, 'The janitor was stopped.'));
    await this.#running?.catch(() => undefined);
  }

  /** Asks for a run soon (debounced), e.g. after the manager recorded owed deletes. */
  kick(delayMs = 1_000): void {
    if (this.#kickTimer || this.#stop.signal.aborted) return;
    this.#kickTimer = setTimeout(() => {
      this.#kickTimer = undefined;
      this.#background();
    }, delayMs);
    this.#kickTimer.unref();
  }

  #background(deadline?: AbortSignal): void {
    this.runOnce(deadline ?? this.#stop.signal).catch((err) => {
      if (this.#stop.signal.aborted) return;
      this.#log.warn({ err }, 'janitor run failed; the next run retries');
    });
  }

  /** One cleanup pass. Concurrent calls share the run in progress. */
  runOnce(signal: AbortSignal): Promise<JanitorReport> {
    if (this.#running) return this.#running;
    const run = this.#run(AbortSignal.any([signal, this.#stop.signal])).finally(() => { this.#running = undefined; });
    this.#running = run;
    return run;
  }

  /**
   * One run, in stages: who is alive; which provider stores are debris; what is owed a
   * delete; interrupted uploads; the owed deletes; instances nothing points at.
   */
  async #run(signal: AbortSignal): Promise<JanitorReport> {
    const started = Date.now();
    const report = emptyReport();
    const dead = await this.#markLiving(report, signal);
    if (this.#gate.remainingMs() > 0) {
      // Deletes would only add to the throttling; they keep until the next run.
      report.deferred = true;
      return this.#finish(report, started);
    }
    // Test-only defect (KI-13): deletion disabled, as in the first version; debris piles up.
    if (defectOn('store-cleanup-disabled')) return this.#finish(report, started);

    const stores = await this.#findDebrisStores(dead, report, signal);
    await this.#oweDeletes(stores, signal);
    try {
      await this.#resolveJournal(signal, dead, report);
    } catch (err) {
      if (signal.aborted) throw abortReasonToError(signal.reason);
      // The rows stay; owed deletes below still run.
      this.#log.warn({ err }, 'could not resolve interrupted uploads this run');
    }
    await this.#runOwedDeletes(report, signal);
    await this.#forgetDeadInstances(dead, stores.listed, signal);
    return this.#finish(report, started);
  }

  /** Records this instance as alive; returns the instances gone (their leases and claims dropped). */
  async #markLiving(report: JanitorReport, signal: AbortSignal): Promise<Set<string>> {
    const s = this.#state;
    const now = Date.now();
    return withTransaction(this.#db, () => {
      s.upsertInstance(this.#instanceId, process.pid, HOST, now);
      const gone = s.instances().filter((i) => instanceGone(i, now, this.#o.instanceStaleMs, this.#instanceId)).map((i) => i.instance_id);
      report.leasesReleased = s.dropLeases(now, gone) + s.dropStaleClaims(now, gone);
      return new Set(gone);
    }, signal);
  }

  /**
   * Lists the provider's stores and decides which of ours are debris. A 429 ends the run
   * at once: cleanup must not add to a throttle; the next run retries.
   */
  async #findDebrisStores(dead: ReadonlySet<string>, report: JanitorReport, signal: AbortSignal): Promise<DebrisStores> {
    const s = this.#state;
    const now = Date.now();
    const listed = await listProviderStores(this.#client, this.#gate, signal, 2, undefined, 0);
    const rows = new Map(s.stores().map((r) => [r.store_id, r]));
    const known = new Set(s.instances().map((i) => i.instance_id));
    const toDelete: string[] = [];
    const recorded = new Set(rows.keys());
    for (const st of listed) {
      if (ownershipOf(st, recorded, known) !== 'ours') {
        report.foreignStoresSkipped++;
        continue;
      }
      const md = st.metadata ?? {};
      const row = rows.get(st.id);
      // The project memory is meant to outlive sessions and processes.
      if (md.kind === KIND_MEMORY || row?.kind === KIND_MEMORY) continue;
      let debris = false;
      if (!row) debris = dead.has(md.instance ?? '') || now - st.created_at * 1000 > this.#o.orphanGraceMs;
      else if (row.state === 'deleting') debris = !s.hasPendingStoreDelete(st.id);
      else if (st.status === 'expired') debris = true;
      else if (dead.has(row.instance_id) && row.completed === 0) debris = true;
      else if (now - row.last_used_at > this.#o.storeIdleTtlMs) debris = true;
      if (debris) toDelete.push(st.id);
    }
    return { listed, complete: listed.length < MAX_LIST_PAGES * 100, rows, toDelete };
  }

  /** Records the deletes owed: debris stores, rows of stores the provider no longer has, file objects no store references. */
  async #oweDeletes(stores: DebrisStores, signal: AbortSignal): Promise<void> {
    const s = this.#state;
    const listedIds = new Set(stores.listed.map((st) => st.id));
    let owedFiles = 0;
    await withTransaction(this.#db, () => {
      const t = Date.now();
      for (const id of stores.toDelete) {
        s.markStoreDeleting(id);
        s.owe('store', id, '', t, t);
      }
      // Rows of stores the provider no longer has (expired and purged, or deleted elsewhere).
      if (stores.complete) {
        for (const r of stores.rows.values()) {
          if (listedIds.has(r.store_id) || t - r.created_at < this.#o.orphanGraceMs || r.kind === KIND_MEMORY) continue;
          owedFiles += oweFileDeletes(s, s.forgetStore(r.store_id).map((f) => f.file_id), t);
        }
      }
      // File objects no store references any more.
      for (const k of s.unreferencedReadyFiles(1_000)) {
        const freed = s.takeIfUnreferenced(k.sha256, k.rel_path);
        if (freed) owedFiles += oweFileDeletes(s, [freed.file_id], t);
      }
    }, signal);
    if (owedFiles > 0) this.#log.debug({ owedFiles }, 'file objects owed a delete');
  }

  /** Runs the owed deletes that are due, in rounds: a store delete frees file objects that are owed right after it. */
  async #runOwedDeletes(report: JanitorReport, signal: AbortSignal): Promise<void> {
    const s = this.#state;
    const cleanup: CleanupDeps = { client: this.#client, db: this.#db, state: s, timeoutMs: this.#o.deleteTimeoutMs };
    const tried = new Set<string>();
    for (let round = 0; round < 3; round++) {
      // A delete that failed in this run waits for a later run (its backoff), not the next round.
      const due = s.duePendingDeletes(Date.now(), this.#o.maxDeletesPerRun)
        .filter((d) => !tried.has(`${d.kind}:${d.target_id}:${d.store_id}`));
      if (due.length === 0) break;
      for (const d of due) tried.add(`${d.kind}:${d.target_id}:${d.store_id}`);
      // Detaches and stores first: a file object goes after it has left its stores.
      for (const group of [due.filter((d) => d.kind !== 'file'), due.filter((d) => d.kind === 'file')]) {
        await forEachLimit(group, this.#o.deleteConcurrency, signal, async (d) => {
          // Background work: a turn of the loop per delete, so a run of hundreds of quick
          // deletes (each with a synchronous SQLite write) never holds the loop for long.
          await yieldToLoop();
          const r = await runOwedDelete(cleanup, d.kind, d.target_id, d.store_id,
            { baseMs: this.#o.retryBaseMs, maxAttempts: this.#o.deleteMaxAttempts }, signal);
          if (r.outcome === 'failed') {
            report.deleteFailures++;
            if (r.abandoned) report.deletesAbandoned++;
            return;
          }
          if (d.kind === 'store') report.storesDeleted++;
          else if (d.kind === 'file') report.filesDeleted++;
          else report.detached++;
        });
      }
      if (signal.aborted) throw abortReasonToError(signal.reason);
    }
  }

  /** Forgets dead instances that no store, listed store or journal row points at any more. */
  async #forgetDeadInstances(dead: ReadonlySet<string>, listed: DebrisStores['listed'], signal: AbortSignal): Promise<void> {
    const s = this.#state;
    await withTransaction(this.#db, () => {
      const referenced = new Set<string>([
        ...s.stores().map((r) => r.instance_id),
        ...listed.map((st) => st.metadata?.instance ?? ''),
        ...s.journal().map((j) => j.owner),
      ]);
      for (const id of dead) if (!referenced.has(id)) s.deleteInstance(id);
    }, signal);
  }

  #finish(report: JanitorReport, started: number): JanitorReport {
    try { report.pendingDeletes = this.#state.countPendingDeletes(); } catch { /* diagnostics only */ }
    report.durationMs = Date.now() - started;
    this.#lastReport = report;
    const acted = report.storesDeleted + report.filesDeleted + report.detached + report.leasesReleased + report.journalResolved + report.deleteFailures;
    if (acted > 0) this.#log.info({ report }, 'janitor run');
    return report;
  }

  /**
   * Journal rows left by uploads whose outcome is unknown. The provider may hold a file
   * object for them that nobody recorded: one with the same name and size, created in
   * the request's time window, that no row of ours knows. Those are deleted.
   */
  async #resolveJournal(signal: AbortSignal, dead: Set<string>, report: JanitorReport): Promise<void> {
    const s = this.#state;
    const now = Date.now();
    const stale = s.journal().filter((j: JournalRow) =>
      j.state === 'abandoned' || dead.has(j.owner) || now - j.started_at > this.#o.journalGraceMs);
    if (stale.length === 0) return;
    const earliest = Math.min(...stale.map((j) => j.started_at)) - MATCH_SLACK_MS;
    const knownIds = s.knownFileIds();
    const matched = new Set<string>();
    const candidates = new Map<string, { filename: string; bytes: number }>();
    // One try each, behind the account's gate: a 429 here closes it for the request path too; the next run tries again.
    const once = { signal, gate: this.#gate, attempts: 1, rateLimitRetries: 0 };
    let page = await withRetry((sig) => this.#client.files.list({ purpose: 'assistants', order: 'desc', limit: 100 }, { signal: sig, maxRetries: 0 }), once);
    for (let n = 1; ; n++) {
      let older = false;
      for (const f of page.data) {
        if (f.created_at * 1000 < earliest) { older = true; continue; }
        if (knownIds.has(f.id) || matched.has(f.id)) continue;
        const hit = stale.find((j) =>
          (f.filename === j.filename || f.filename === basename(j.filename)) && f.bytes === j.bytes &&
          f.created_at * 1000 >= j.started_at - MATCH_SLACK_MS &&
          f.created_at * 1000 <= j.started_at + this.#o.uploadRequestTimeoutMs + MATCH_SLACK_MS);
        if (hit) {
          matched.add(f.id);
          candidates.set(f.id, { filename: f.filename, bytes: f.bytes });
        }
      }
      if (older || !page.hasNextPage() || n >= MAX_FILE_LIST_PAGES) break;
      const current = page;
      page = await withRetry(() => current.getNextPage(), once);
    }
    await withTransaction(this.#db, () => {
      const t = Date.now();
      // Re-check under the transaction: an upload that finished since the list above is
      // recorded now, and one still in flight has a fresh journal row; neither is debris.
      const nowKnown = s.knownFileIds();
      const staleIds = new Set(stale.map((j) => j.id));
      const live = s.journal().filter((j) => !staleIds.has(j.id));
      const debris = [...matched].filter((id) => {
        if (nowKnown.has(id)) return false;
        const f = candidates.get(id)!;
        return !live.some((j) => (f.filename === j.filename || f.filename === basename(j.filename)) && f.bytes === j.bytes);
      });
      report.orphanFilesFound = debris.length;
      oweFileDeletes(s, debris, t);
      for (const j of stale) s.journalDone(j.id);
    }, signal);
    report.journalResolved = stale.length;
  }
}
