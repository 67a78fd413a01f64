/**
 * The vector-store manager: puts a session's overflow files into that session's store,
 * uploading each distinct (content, path) once (KI-14), with adaptive concurrency
 * (KI-17, KI-22), bounded retries, batch attaches with their own deadline (KI-19), a
 * store limit it respects (KI-13), and a signal that reaches every request and wait
 * (KI-03). It holds no lock, slot or timer past the end of a call (KI-01, KI-02).
 */
import type OpenAI from 'openai';
import { stat } from 'node:fs/promises';
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError, abortReasonToError, isAbortError, throwIfAborted } from '../errors.ts';
import { logger, type Logger } from '../logging/logger.ts';
import { withTransaction, type Db } from '../state/db.ts';
import { AdaptiveConcurrency } from './adaptive-concurrency.ts';
import { attachInBatches } from './batches.ts';
import { runOwedDelete, oweFileDeletes, type CleanupDeps } from './cleanup.ts';
import { ensureHashes } from './content.ts';
import { HOST, OWNER, goneInstances } from './ownership.ts';
import { forEachLimit } from './pool.ts';
import { VectorState } from './state.ts';
import { StoreAllocator } from './stores.ts';
import type {
  AttachFile, AttachRequest, AttachResult, AttachStats, OverflowResult, VectorEvent, VectorLimits, VectorStats, VectorStoreManagerOptions,
} from './types.ts';
import { uploadFile, type UploadDeps } from './uploader.ts';
import { ThrottleGate } from '../resilience/throttle-gate.ts';
import { sleep, upstreamError } from './upstream.ts';
import { resolveVectorLimits } from './limits.ts';
import { defectOn } from '../config/test-defects.ts';
import { type Bundle, bundlesAsAttachFiles, isBundlePath, planBundles } from './bundles.ts';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sweepSpool } from './spool.ts';

type Hashed = AttachFile & { sha256: string };

/** The state one attachFiles call carries through its stages. */
interface AttachRun {
  readonly signal: AbortSignal;
  readonly started: number;
  readonly total: number;
  readonly owner: string;
  readonly files: AttachFile[];
  /** Files accounted for so far (present, reused, uploaded, waited for). */
  done: number;
  uploaded: number;
  readonly failed: Map<string, string>;
  /** Claims this call holds and has not finished. */
  readonly claimed: Set<Hashed>;
  readonly reused: Set<string>;
  readonly stats: AttachStats & { activeUploads: number };
  readonly report: (message: string) => void;
}

const UPLOAD_PROGRESS_MS = DEFAULTS.UPLOAD_PROGRESS_INTERVAL_MS;

interface Plan {
  /** Already attached with this content. */
  present: Set<string>;
  /** relPath → file id of an existing upload to attach. */
  reuse: Map<string, string>;
  upload: Hashed[];
  wait: Hashed[];
  /** Old copies of changed files to detach from this store. */
  replaced: Array<{ relPath: string; fileId: string }>;
  owedFiles: number;
}

/**
 * Puts overflow files into one vector store per session.
 *
 * Options: `client` (SDK client with maxRetries: 0), `db` (state database), `instanceId`
 * (unique per process, written into store metadata), `serverName: 'second-brain'`,
 * `limits` (see VectorLimits; defaults from DEFAULTS: upload concurrency 4 → 1..16,
 * 3 attempts per file, 60 s per upload request, batches of 100 polled every 500 ms for
 * at most 120 s, store limit 100 with 1 kept free, expiry 2 days), `onEvent`, and
 * `rateLimits` (a board shared through the state dir, KI-18).
 *
 * @example
 *   const manager = new VectorStoreManager({ client, db, instanceId, serverName: 'second-brain' });
 *   const { vectorStoreId, failed } = await manager.attachFiles({ sessionId, files, signal });
 */
export class VectorStoreManager {
  readonly #client: OpenAI;
  readonly #db: Db;
  readonly #state: VectorState;
  readonly #instanceId: string;
  readonly #limits: VectorLimits;
  readonly #onEvent?: (e: VectorEvent) => void;
  readonly #log: Logger;
  readonly #limiter: AdaptiveConcurrency;
  readonly #gate: ThrottleGate;
  readonly #spoolDir: string | undefined;
  readonly #background = new Set<Promise<void>>();
  #registered = false;

  constructor(options: VectorStoreManagerOptions) {
    if (options.serverName !== OWNER) {
      throw new SbError(ErrorCode.CONFIG, `VectorStoreManager option "serverName" must be "${OWNER}"; got ${JSON.stringify(options.serverName)}.`);
    }
    if (!options.instanceId || options.instanceId.length > 128) {
      throw new SbError(ErrorCode.CONFIG, 'VectorStoreManager option "instanceId" must be a non-empty string of at most 128 characters.');
    }
    this.#client = options.client;
    this.#db = options.db;
    this.#state = new VectorState(options.db);
    this.#instanceId = options.instanceId;
    this.#limits = resolveVectorLimits(options.limits);
    this.#onEvent = options.onEvent;
    this.#log = logger().child({ component: 'vector-store' });
    this.#gate = options.gate ?? new ThrottleGate(options.rateLimits);
    this.#spoolDir = options.spoolDir;
    // Spool files of a process that died mid-upload; never on the request path.
    if (this.#spoolDir) {
      void sweepSpool(this.#spoolDir).then(
        (n) => { if (n) this.#log.info({ removed: n }, 'removed upload spool files left by stopped processes'); },
        (err: unknown) => this.#log.debug({ err }, 'upload spool sweep failed'),
      );
    }
    this.#limiter = new AdaptiveConcurrency({
      start: this.#limits.uploadConcurrencyStart,
      min: this.#limits.uploadConcurrencyMin,
      max: this.#limits.uploadConcurrencyMax,
      ...(options.loopLagMs ? { loopLagMs: options.loopLagMs } : {}),
      onChange: (from, to, reason) => this.#emit({ type: 'concurrency_changed', from, to, reason }),
    });
  }

  #emit(e: VectorEvent): void {
    try { this.#onEvent?.(e); } catch (err) { this.#log.warn({ err }, 'vector event listener threw'); }
  }

  /** Diagnostics: cheap local reads only, safe to call while uploads run. */
  stats(): VectorStats {
    let stores = 0;
    let files = 0;
    let pendingDeletes = 0;
    try {
      stores = this.#state.countActiveStores();
      files = this.#state.countReadyFiles();
      pendingDeletes = this.#state.countPendingDeletes();
    } catch { /* a locked database must not break diagnostics */ }
    const until = this.#gate.until;
    return {
      stores, files, pendingDeletes,
      uploadConcurrency: this.#limiter.level,
      uploadConcurrencyChanges: this.#limiter.changes,
      uploadGrowthHeld: this.#limiter.held,
      headroom: this.#limiter.headroom ?? null,
      uploadsInFlight: this.#limiter.inFlight,
      maxConcurrentUploads: this.#limiter.maxInFlight,
      throttledUntil: until > Date.now() ? new Date(until).toISOString() : null,
    };
  }

  /** Resolves once background cleanup started by earlier calls (batch cancels after an abort) has ended. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  #runInBackground(work: () => Promise<void>): void {
    const p = work().catch((err) => this.#log.warn({ err }, 'background vector-store cleanup failed'))
      .finally(() => this.#background.delete(p));
    this.#background.add(p);
  }

  async #register(signal: AbortSignal): Promise<void> {
    const now = Date.now();
    await withTransaction(this.#db, () => {
      if (this.#registered) this.#state.touchInstance(this.#instanceId, now);
      else this.#state.upsertInstance(this.#instanceId, process.pid, HOST, now);
    }, signal);
    this.#registered = true;
  }

  /**
   * Attaches `files` to the session's store, creating it on first use. Files already
   * uploaded with the same content and path (by this or another process sharing the
   * state dir) are reused, never uploaded again.
   *
   * @example
   *   const r = await manager.attachFiles({ sessionId, files, signal, onProgress });
   *   // r.vectorStoreId goes into the file_search tool; r.failed is shown to the user.
   */
  /**
   * Uploads and attaches a call's files to its session's store, in stages: hash the
   * files; find or make the session's store; plan (in one transaction) what is present,
   * reused, uploaded or waited for; upload, waiting on other uploaders' claims; attach
   * the uploads in batches; detach old copies. Claims not finished are given back at the end.
   */
  async attachFiles(request: AttachRequest): Promise<AttachResult> {
    const run = this.#startAttach(request);
    const { signal } = run;
    let storeId: string | undefined;
    try {
      await this.#register(signal);
      run.report(`preparing ${run.files.length} files`);
      const hashed = await this.#hashForAttach(run);
      const allocator = new StoreAllocator({
        client: this.#client, db: this.#db, state: this.#state, instanceId: run.owner, gate: this.#gate,
        limits: this.#limits, log: this.#log, emit: (e) => this.#emit(e), report: run.report,
      });
      const sid = storeId = (await allocator.ensureSessionStore(request.sessionId, signal)).storeId;
      const plan = await withTransaction(this.#db, () => this.#plan(sid, hashed, run.claimed), signal);
      if (plan.owedFiles > 0) this.#emit({ type: 'cleanup_owed', count: plan.owedFiles });
      for (const p of [...plan.present, ...plan.reuse.keys()]) run.reused.add(p);
      run.done = plan.present.size + plan.reuse.size;

      await this.#uploadPlanned(run, sid, plan);
      const wanted = new Set(hashed.map((f) => f.relPath));
      await this.#attachPending(run, sid, wanted);
      await this.#detachOldCopies(run, sid, wanted, plan.replaced, request.supersedes);
      await withTransaction(this.#db, () => this.#state.markStoreCompleted(sid, Date.now()), signal);
      return this.#attachResult(run, sid, hashed);
    } catch (err) {
      if (signal.aborted) {
        this.#log.info({ storeId, sessionId: request.sessionId }, 'vector store upload cancelled');
        throw this.#gate.abortError(signal);
      }
      throw upstreamError(err, storeId ? 'attach files to the vector store' : 'prepare a vector store for this session');
    } finally {
      await this.#releaseClaims(run);
    }
  }

  /** Validates the request and sets up the run's state and its progress reporting. */
  #startAttach(request: AttachRequest): AttachRun {
    const { sessionId, signal } = request;
    throwIfAborted(signal);
    if (typeof sessionId !== 'string' || sessionId.length === 0) {
      throw new SbError(ErrorCode.INVALID_ARGUMENT, 'attachFiles needs a non-empty sessionId.');
    }
    // One entry per path; a later duplicate wins.
    const byPath = new Map<string, AttachFile>();
    for (const f of request.files) byPath.set(f.relPath, { ...f });
    const total = request.files.length;
    let lastUploadReport = Number.NEGATIVE_INFINITY;
    const run: AttachRun = {
      signal, started: Date.now(), total, done: 0, uploaded: 0, owner: this.#instanceId,
      files: [...byPath.values()], failed: new Map(), claimed: new Set(), reused: new Set(),
      stats: {
        durationMs: 0, uploadRequests: 0, rateLimited: 0, attachRetries: 0, batches: 0, batchesCancelled: 0,
        waitedForOthers: 0, replaced: 0, maxConcurrentUploads: 0, activeUploads: 0,
      },
      report: (message: string) => {
        // One progress notification per uploaded file is ~80 stdout writes in half a second
        // (KI-01): per-file counts go out at most every UPLOAD_PROGRESS_MS, and the last one always.
        if (message.startsWith('uploaded ') && run.done < total) {
          const now = performance.now();
          if (now - lastUploadReport < UPLOAD_PROGRESS_MS) return;
          lastUploadReport = now;
        }
        try { request.onProgress?.(run.done, total, message); } catch { /* a progress sink must not break the upload */ }
      },
    };
    return run;
  }

  /** Hashes what has no hash yet; unreadable files are failed. Returns the hashed ones. */
  async #hashForAttach(run: AttachRun): Promise<Hashed[]> {
    const unreadable = await ensureHashes(run.files, this.#state, this.#limits.readConcurrency, run.signal);
    for (const [rel, reason] of unreadable) run.failed.set(rel, reason);
    return run.files.filter((f): f is Hashed => typeof f.sha256 === 'string' && !run.failed.has(f.relPath));
  }

  /**
   * Uploads the plan's files, and waits for files another call or process is uploading:
   * until their claim turns ready, or takes it over once its lease lapses (the uploader
   * died). A claim we lose while uploading comes back to the wait too. Our claims are
   * kept alive meanwhile (KI-14: another process waits on them).
   */
  async #uploadPlanned(run: AttachRun, sid: string, plan: Plan): Promise<void> {
    const { signal, owner, claimed } = run;
    const heartbeat = setInterval(() => {
      // Only this call's claims: a claim nobody works on any more must be allowed to lapse.
      const keys = [...claimed];
      withTransaction(this.#db, () => {
        const until = Date.now() + this.#limits.uploadLeaseMs;
        for (const k of keys) this.#state.renewClaim(k.sha256, k.relPath, owner, until);
      })
        .catch((err) => this.#log.debug({ err }, 'claim renewal failed; retrying on the next beat'));
    }, Math.max(50, Math.floor(this.#limits.uploadLeaseMs / 3)));
    heartbeat.unref();
    try {
      const uploadDeps: UploadDeps = {
        client: this.#client, db: this.#db, state: this.#state, owner, limiter: this.#limiter, gate: this.#gate,
        limits: this.#limits, report: run.report, counters: run.stats,
        ...(this.#spoolDir ? { spoolDir: this.#spoolDir } : {}),
        onThrottled: (ms) => this.#emit({ type: 'throttled', retryAfterMs: ms }),
      };
      const running = new Set<Promise<void>>();
      const waiting = new Set<Hashed>(plan.wait);
      const startUpload = (f: Hashed): void => {
        const p = this.#uploadOne(run, sid, uploadDeps, f, () => waiting.add(f)).finally(() => running.delete(p));
        running.add(p);
      };
      for (const f of plan.upload) startUpload(f);

      while (waiting.size > 0 || running.size > 0) {
        if (waiting.size === 0) {
          await Promise.race([...running]);
          continue;
        }
        await sleep(this.#limits.claimPollIntervalMs, signal);
        const resolved = await withTransaction(this.#db, () => {
          const now = Date.now();
          const out: Array<{ f: Hashed; fileId?: string }> = [];
          // An uploader killed since (SIGKILL) never finishes or releases its claims (KI-13).
          const gone = goneInstances(this.#state.instances(), now, owner);
          for (const f of waiting) {
            const row = this.#state.file(f.sha256, f.relPath);
            if (row?.state === 'ready' && row.file_id) {
              this.#state.setStoreFileId(sid, f.relPath, f.sha256, row.file_id, now);
              out.push({ f, fileId: row.file_id });
            } else if (!row || (row.lease_expires_at ?? 0) <= now || gone.has(row.lease_owner ?? '')) {
              this.#state.claimFile(f.sha256, f.relPath, owner, f.size, now, this.#limits.uploadLeaseMs);
              out.push({ f });
            }
          }
          return out;
        }, signal);
        for (const r of resolved) {
          waiting.delete(r.f);
          if (r.fileId) {
            run.stats.waitedForOthers++;
            run.reused.add(r.f.relPath);
            run.done++;
            run.report(`uploaded ${run.done}/${run.total} files`);
          } else {
            claimed.add(r.f);
            startUpload(r.f);
          }
        }
      }
      throwIfAborted(signal);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** One upload: recorded ready and in the store, or failed (claim released), or lost to another claimant (`lost`). */
  async #uploadOne(run: AttachRun, sid: string, deps: UploadDeps, f: Hashed, lost: () => void): Promise<void> {
    const { signal, owner } = run;
    try {
      const up = await uploadFile(deps, f, signal);
      const kept = await withTransaction(this.#db, () => {
        this.#state.journalDone(up.journalId);
        if (!this.#state.markFileReady(f.sha256, f.relPath, owner, up.fileId)) {
          // Our lease lapsed and someone else took the claim: theirs wins, ours is owed a delete.
          oweFileDeletes(this.#state, [up.fileId], Date.now());
          return false;
        }
        this.#state.setStoreFileId(sid, f.relPath, f.sha256, up.fileId, Date.now());
        return true;
      });
      run.claimed.delete(f);
      if (kept) {
        run.uploaded++;
        run.done++;
        run.report(`uploaded ${run.done}/${run.total} files`);
      } else {
        lost();
      }
    } catch (err) {
      if (signal.aborted || isAbortError(err)) return;
      run.claimed.delete(f);
      run.failed.set(f.relPath, err instanceof Error ? err.message : String(err));
      await withTransaction(this.#db, () => {
        this.#state.releaseClaim(f.sha256, f.relPath, owner);
        const freed = this.#state.dropPendingStoreFile(sid, f.relPath, f.sha256);
        if (freed) oweFileDeletes(this.#state, [freed.file_id], Date.now());
      }).catch((e) => this.#log.warn({ err: e }, 'could not record an upload failure'));
    }
  }

  /**
   * Attaches this call's uploaded, not yet attached files in batches. A file that would
   * not attach stays pending in the store's rows with its upload, so the next call retries
   * the attach without uploading again.
   */
  async #attachPending(run: AttachRun, sid: string, wanted: ReadonlySet<string>): Promise<void> {
    const rows = this.#state.storeFiles(sid);
    const toAttach = rows.filter((r) => wanted.has(r.rel_path) && r.state === 'pending' && r.file_id !== null && !run.failed.has(r.rel_path));
    if (toAttach.length === 0) return;
    const pathOf = new Map(toAttach.map((r) => [r.file_id!, r.rel_path]));
    run.report(`attaching ${toAttach.length} files to the vector store`);
    const outcome = await attachInBatches({
      client: this.#client, gate: this.#gate, limits: this.#limits, report: run.report,
      onHeadroom: (n) => this.#limiter.noteHeadroom(n),
      background: (work) => this.#runInBackground(work),
      onCancelled: (batchId, reason) => this.#emit({ type: 'batch_cancelled', batchId, reason }),
      counters: run.stats,
    }, sid, [...pathOf.keys()], run.signal, (id) => pathOf.get(id));
    await withTransaction(this.#db, () => {
      const now = Date.now();
      for (const id of outcome.attached) this.#state.setStoreFileAttached(sid, pathOf.get(id)!, id, now);
    });
    for (const [id, reason] of outcome.failed) run.failed.set(pathOf.get(id)!, reason);
  }

  /** Detaches copies this call replaced and paths that vanished from the call's scope. */
  async #detachOldCopies(run: AttachRun, sid: string, wanted: Set<string>, replaced: Plan['replaced'], supersedes: AttachRequest['supersedes']): Promise<void> {
    const vanished = await this.#vanishedPaths(sid, wanted, run.signal, supersedes);
    const detach = [...replaced, ...vanished];
    run.stats.replaced = detach.length;
    if (detach.length > 0) await this.#detachNow(sid, detach, run.signal);
  }

  #attachResult(run: AttachRun, sid: string, hashed: readonly Hashed[]): AttachResult {
    const attached = hashed.map((f) => f.relPath).filter((p) => !run.failed.has(p));
    run.stats.durationMs = Date.now() - run.started;
    run.report(`attached ${attached.length}/${run.total} files`);
    this.#log.info({ storeId: sid, attached: attached.length, failed: run.failed.size, uploaded: run.uploaded, stats: run.stats }, 'vector store ready');
    return {
      vectorStoreId: sid,
      attached,
      reused: attached.filter((p) => run.reused.has(p)),
      failed: [...run.failed].map(([relPath, reason]) => ({ relPath, reason })),
      uploaded: run.uploaded,
      stats: (({ activeUploads: _active, ...rest }) => rest)(run.stats),
    };
  }

  /**
   * Gives up claims we did not finish, so another call can take them at once instead of
   * waiting for the lease to lapse. Partial uploads stay in the journal.
   */
  async #releaseClaims(run: AttachRun): Promise<void> {
    if (run.claimed.size === 0) return;
    const left = [...run.claimed];
    await withTransaction(this.#db, () => { for (const f of left) this.#state.releaseClaim(f.sha256, f.relPath, run.owner); })
      .catch((err) => this.#log.warn({ err }, 'could not release upload claims; they lapse with their lease'));
  }

  /**
   * Attaches a call's overflow packed into bundles (see bundles.ts): uploads follow the
   * overflow's bytes, not its file count. The result is by project path, as attachFiles's
   * is: a member is attached, reused or failed with its bundle. Bundles already in the
   * session's store whose members are unchanged cover those files (nothing uploaded again);
   * a bundle with a changed or deleted member is detached and its files bundled anew.
   * `scope` (path → sha256 of every file of the call, inline ones too) tells an unchanged
   * member from a changed one; by default the overflow files themselves.
   *
   * @example
   *   const r = await manager.attachOverflow({ sessionId, files: overflow, signal });
   *   // r.attached lists project paths; r.bundles says how many documents carry them.
   */
  async attachOverflow(request: AttachRequest & { scope?: ReadonlyMap<string, string> }): Promise<OverflowResult> {
    const { signal } = request;
    throwIfAborted(signal);
    // Turns of the loop between the steps that walk every file: at 50,000 files they held
    // it for ~50 ms in one piece (KI-12, measured).
    const byPath = new Map<string, AttachFile>();
    for (let i = 0; i < request.files.length; i++) {
      if (i > 0 && i % 8_192 === 0) await yieldToLoop();
      const f = request.files[i]!;
      byPath.set(f.relPath, { ...f });
    }
    await yieldToLoop();
    const unreadable = await ensureHashes([...byPath.values()], this.#state, this.#limits.readConcurrency, signal);
    const failedEarly = [...unreadable].map(([relPath, reason]) => ({ relPath, reason }));
    for (const rel of unreadable.keys()) byPath.delete(rel);
    const scope = request.scope ?? new Map([...byPath].map(([p, f]) => [p, f.sha256!]));

    // What the session's store already carries: bundles whose members are all unchanged cover
    // those files; a bundle with a changed or vanished member is stale and will be detached.
    const { keep, stale, coveredBy } = await this.#existingBundles(request.sessionId, byPath, scope, signal);
    const rest = [...byPath.values()].filter((f) => !coveredBy.has(f.relPath));
    await yieldToLoop();
    throwIfAborted(signal);
    const bundles = planBundles(rest, { maxBytes: this.#limits.bundleMaxBytes, minBytes: this.#limits.bundleMinBytes });
    await yieldToLoop();
    throwIfAborted(signal);
    const fresh = await bundlesAsAttachFiles(bundles, signal);
    await this.#recordMembers(bundles, fresh, signal);
    const members = new Map<string, string[]>(bundles.map((b) => [b.relPath, b.members.map((m) => m.relPath)]));
    for (const [rel, bundle] of coveredBy) {
      const list = members.get(bundle) ?? [];
      list.push(rel);
      members.set(bundle, list);
    }
    const r = await this.attachFiles({ ...request, files: [...fresh, ...keep], supersedes: (rel) => stale.has(rel) });
    const expand = (paths: readonly string[]) => paths.flatMap((p) => members.get(p) ?? []);
    const reusedBundles = new Set(r.reused);
    const attachedBundles = new Set(r.attached);
    return {
      ...r,
      attached: expand(r.attached),
      reused: expand(r.reused),
      failed: [...failedEarly, ...r.failed.flatMap((f) => (members.get(f.relPath) ?? [f.relPath]).map((relPath) => ({ relPath, reason: f.reason })))],
      uploaded: bundles.filter((b) => attachedBundles.has(b.relPath) && !reusedBundles.has(b.relPath)).reduce((n, b) => n + b.members.length, 0),
      bundles: bundles.length + keep.length,
      bundlesUploaded: r.uploaded,
    };
  }

  /** Bundles attached to the session's store: those still valid (and which files they cover), and the stale ones. */
  async #existingBundles(sessionId: string, files: ReadonlyMap<string, AttachFile>, scope: ReadonlyMap<string, string>, signal: AbortSignal): Promise<{
    keep: AttachFile[]; stale: Set<string>; coveredBy: Map<string, string>;
  }> {
    const keep: AttachFile[] = [];
    const stale = new Set<string>();
    const coveredBy = new Map<string, string>();
    const storeId = this.#state.sessionStoreId(sessionId);
    if (!storeId) return { keep, stale, coveredBy };
    const rows = this.#state.storeFiles(storeId).filter((r) => isBundlePath(r.rel_path) && r.state === 'attached' && r.file_id);
    for (const row of rows) {
      await yieldToLoop();
      throwIfAborted(signal);
      const members = this.#state.bundleMembers(row.sha256);
      if (members.length === 0) continue;
      let valid = true;
      const outside: string[] = [];
      for (const m of members) {
        const current = scope.get(m.member_path);
        if (current === undefined) outside.push(m.abs_path);
        // Test-only defect (KI-14): members matched by path alone, so a changed file looks carried already.
        else if (current !== m.member_sha && !defectOn('dedup-by-path-only')) { valid = false; break; }
      }
      if (valid && outside.length > 0) {
        // Members outside this call's scope: still there (another directory asked earlier), or renamed/deleted.
        let gone = false;
        await forEachLimit(outside, this.#limits.readConcurrency, signal, async (abs) => {
          if (gone) return;
          try { await stat(abs); } catch (err) { if ((err as NodeJS.ErrnoException).code === 'ENOENT') gone = true; }
        });
        throwIfAborted(signal);
        valid = !gone;
      }
      if (!valid) { stale.add(row.rel_path); continue; }
      keep.push({ absPath: '', relPath: row.rel_path, size: 0, mtimeMs: 0, sha256: row.sha256, load: () => Promise.reject(new SbError(ErrorCode.INTERNAL, 'an attached bundle is never uploaded again')) });
      for (const m of members) {
        const f = files.get(m.member_path);
        if (f && (f.sha256 === m.member_sha || defectOn('dedup-by-path-only'))) coveredBy.set(m.member_path, row.rel_path);
      }
    }
    return { keep, stale, coveredBy };
  }

  /** Records new bundles' members, a few thousand rows per transaction with a turn of the loop between. */
  async #recordMembers(bundles: readonly Bundle[], files: readonly AttachFile[], signal: AbortSignal): Promise<void> {
    const CHUNK = 2_000;
    for (let i = 0; i < bundles.length; i++) {
      const sha = files[i]!.sha256!;
      if (this.#state.hasBundleMembers(sha)) continue;
      const rows = bundles[i]!.members.map((m) => ({ relPath: m.relPath, sha256: m.sha256!, absPath: m.absPath }));
      for (let at = 0; at < rows.length; at += CHUNK) {
        await withTransaction(this.#db, () => this.#state.putBundleMembers(sha, rows.slice(at, at + CHUNK)), signal);
        await yieldToLoop();
      }
    }
  }

  /** Decides, in one transaction, what each file needs. Runs synchronously. */
  #plan(storeId: string, files: Hashed[], claimed: Set<Hashed>): Plan {
    const s = this.#state;
    const now = Date.now();
    const plan: Plan = { present: new Set(), reuse: new Map(), upload: [], wait: [], replaced: [], owedFiles: 0 };
    const gone = goneInstances(s.instances(), now, this.#instanceId);
    const oldKeys: Array<{ sha256: string; relPath: string }> = [];
    for (const f of files) {
      const row = s.storeFile(storeId, f.relPath);
      // Test-only defect (KI-14): keyed by path alone, a changed file looks already uploaded.
      const sameContent = row?.sha256 === f.sha256 || defectOn('dedup-by-path-only');
      if (row && sameContent && row.state === 'attached' && row.file_id) {
        plan.present.add(f.relPath);
        continue;
      }
      if (row && row.sha256 !== f.sha256) {
        // KI-14: a changed file replaces its old copy in this store.
        if (row.file_id) {
          if (row.state === 'attached') plan.replaced.push({ relPath: f.relPath, fileId: row.file_id });
          oldKeys.push({ sha256: row.sha256, relPath: row.rel_path });
        }
      }
      const existing = s.file(f.sha256, f.relPath);
      let fileId: string | null = null;
      if (existing?.state === 'ready' && existing.file_id) {
        fileId = existing.file_id;
        plan.reuse.set(f.relPath, fileId);
      } else if (existing?.state === 'uploading' && (existing.lease_expires_at ?? 0) > now && !gone.has(existing.lease_owner ?? '')) {
        // Another live call or process is uploading it: wait for its result, do not upload it twice (KI-14).
        plan.wait.push(f);
      } else {
        s.claimFile(f.sha256, f.relPath, this.#instanceId, f.size, now, this.#limits.uploadLeaseMs);
        claimed.add(f);
        plan.upload.push(f);
      }
      s.putStoreFile(storeId, f.relPath, f.sha256, fileId, f.absPath, 'pending', now);
    }
    for (const r of plan.replaced) s.owe('store_file', r.fileId, storeId, now, now);
    for (const k of oldKeys) {
      const freed = s.takeIfUnreferenced(k.sha256, k.relPath);
      if (freed) plan.owedFiles += oweFileDeletes(s, [freed.file_id], now);
    }
    return plan;
  }

  /** Store rows for paths not in this call whose file no longer exists (renamed or deleted). */
  async #vanishedPaths(
    storeId: string, wanted: Set<string>, signal: AbortSignal, supersedes?: (relPath: string) => boolean,
  ): Promise<Array<{ relPath: string; fileId: string }>> {
    const rest = this.#state.storeFiles(storeId).filter((r) => !wanted.has(r.rel_path) && r.file_id);
    const others = rest.filter((r) => r.abs_path);
    const gone: Array<{ relPath: string; fileId: string }> = [];
    if (supersedes) for (const r of rest) if (!r.abs_path && supersedes(r.rel_path)) gone.push({ relPath: r.rel_path, fileId: r.file_id! });
    await forEachLimit(others, this.#limits.readConcurrency, signal, async (r) => {
      try {
        await stat(r.abs_path!);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') gone.push({ relPath: r.rel_path, fileId: r.file_id! });
      }
    });
    throwIfAborted(signal);
    if (gone.length === 0) return gone;
    const owed = await withTransaction(this.#db, () => {
      const now = Date.now();
      let n = 0;
      for (const g of gone) {
        const row = this.#state.storeFile(storeId, g.relPath);
        if (!row) continue;
        this.#state.removeStoreFile(storeId, g.relPath);
        this.#state.owe('store_file', g.fileId, storeId, now, now);
        const freed = this.#state.takeIfUnreferenced(row.sha256, row.rel_path);
        if (freed) n += oweFileDeletes(this.#state, [freed.file_id], now);
      }
      return n;
    }, signal);
    if (owed > 0) this.#emit({ type: 'cleanup_owed', count: owed });
    return gone;
  }

  /**
   * Removes old copies from the store now, so the model does not search stale content.
   * Each detach has its own short deadline; a failure stays owed to the janitor (KI-02).
   */
  async #detachNow(storeId: string, items: Array<{ relPath: string; fileId: string }>, signal: AbortSignal): Promise<void> {
    const deps: CleanupDeps = { client: this.#client, db: this.#db, state: this.#state, timeoutMs: this.#limits.cleanupRequestTimeoutMs };
    await forEachLimit(items, this.#limits.batchConcurrency, signal, async (it) => {
      await runOwedDelete(deps, 'store_file', it.fileId, storeId,
        { baseMs: DEFAULTS.JANITOR_RETRY_BASE_MS, maxAttempts: DEFAULTS.JANITOR_DELETE_MAX_ATTEMPTS }, signal);
    });
    if (signal.aborted) throw abortReasonToError(signal.reason);
  }
}
