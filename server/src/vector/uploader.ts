/**
 * Uploading one file object, under the adaptive concurrency limit and the throttle gate.
 *
 * - Bounded: the one retry engine (resilience/retry.ts) allows at most `uploadMaxAttempts`
 *   tries for server and connection failures, plus at most `uploadMaxRateLimitRetries`
 *   tries after a 429, each after the provider's retry-after (KI-17). The slot is
 *   released before any wait, so a sleeping retry never holds concurrency another
 *   upload could use.
 * - Cancellable: the call's signal reaches the read, the request and every wait (KI-03).
 * - Journaled: a row is written before each request and removed once the outcome is
 *   known. A request whose outcome is unknown (aborted, timed out, connection lost)
 *   leaves its row for the janitor, which may find a file object the provider created.
 */
import type OpenAI from 'openai';
import { classifyFailure, type UpstreamFailure } from '../resilience/classify.ts';
import { toFile } from 'openai';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { withTransaction, type Db } from '../state/db.ts';
import { ErrorCode, SbError, abortReasonToError } from '../errors.ts';
import { parseRemainingRequests } from '../resilience/retry-after.ts';
import { GateClosed } from '../resilience/retry.ts';
import type { ThrottleGate } from '../resilience/throttle-gate.ts';
import type { AdaptiveConcurrency, SlotOutcome } from './adaptive-concurrency.ts';
import { readContent, sha256Of, uploadName } from './content.ts';
import type { VectorState } from './state.ts';
import type { AttachFile, VectorLimits } from './types.ts';
import { withRetry } from './upstream.ts';
import { spoolUpload, type SpooledFile } from './spool.ts';
import { DEFAULTS } from '../config/defaults.ts';

export interface UploadDeps {
  client: OpenAI;
  db: Db;
  state: VectorState;
  owner: string;
  limiter: AdaptiveConcurrency;
  gate: ThrottleGate;
  limits: VectorLimits;
  report: (message: string) => void;
  onThrottled: (retryAfterMs: number) => void;
  counters: { uploadRequests: number; rateLimited: number; activeUploads: number; maxConcurrentUploads: number };
  /** Where bodies of DEFAULTS.UPLOAD_SPOOL_MIN_BYTES or more are sent from (spool.ts); without it, from memory. */
  spoolDir?: string;
}

export interface UploadedFile { fileId: string; journalId: number; bytes: number }

function httpReason(f: UpstreamFailure): string {
  return f.status ? `HTTP ${f.status}${f.code ? ` ${f.code}` : ''}: ${f.message}` : f.message;
}

/** One try: a slot, the gate looked at again, the read, the journal row, the request. Throws what failed. */
async function attemptOnce(deps: UploadDeps, file: AttachFile & { sha256: string }, signal: AbortSignal): Promise<UploadedFile> {
  const release = await deps.limiter.acquire(signal);
  // A slot freed by one upload's answer is taken by the next upload in the same microtask
  // run; with 16 uploads finishing together that chain can hold the loop for tens of ms.
  // One turn of the loop per upload lets pings and other I/O in between (KI-01, KI-12).
  await yieldToLoop();
  // A 429 may have closed the gate while this upload queued for its slot (KI-17).
  if (deps.gate.remainingMs() > 0) {
    release({ kind: 'unused' });
    throw new GateClosed();
  }
  let outcome: SlotOutcome = { kind: 'error' };
  let journalId: number | undefined;
  let spooled: SpooledFile | undefined;
  const c = deps.counters;
  c.maxConcurrentUploads = Math.max(c.maxConcurrentUploads, ++c.activeUploads);
  try {
    const bytes = await readContent(file, signal);
    if (sha256Of(bytes) !== file.sha256) {
      throw new SbError(ErrorCode.UPLOAD_FAILED, 'the file changed on disk during the upload; it will be uploaded on the next call');
    }
    const name = uploadName(file.relPath);
    journalId = await withTransaction(deps.db, () => deps.state.journalStart(deps.owner, file.sha256, file.relPath, name, bytes.length, Date.now()), signal);
    if (deps.spoolDir && bytes.length >= DEFAULTS.UPLOAD_SPOOL_MIN_BYTES) spooled = await spoolUpload(deps.spoolDir, bytes, name, 'text/plain', signal);
    const upload = spooled?.file ?? await toFile(bytes, name, { type: 'text/plain' });
    const requestSignal = AbortSignal.any([signal, AbortSignal.timeout(deps.limits.uploadRequestTimeoutMs)]);
    deps.counters.uploadRequests++;
    const started = performance.now();
    const { data, response } = await deps.client.files
      .create({ file: upload, purpose: 'assistants' }, { signal: requestSignal, maxRetries: 0 })
      .withResponse();
    outcome = { kind: 'ok', latencyMs: performance.now() - started };
    const remaining = parseRemainingRequests(response.headers);
    deps.limiter.noteHeadroom(remaining);
    deps.gate.noteHeadroom(remaining);
    return { fileId: data.id, journalId, bytes: bytes.length };
  } catch (err) {
    if (signal.aborted) {
      outcome = { kind: 'aborted' };
      if (journalId !== undefined) await settleJournal(deps, journalId, 'abandon');
      throw abortReasonToError(signal.reason);
    }
    if (err instanceof SbError) throw err;
    const f = classifyFailure(err);
    deps.limiter.noteHeadroom(f.remainingRequests);
    // An answered request created nothing; an unanswered one may have (janitor checks).
    if (journalId !== undefined) await settleJournal(deps, journalId, f.answered ? 'drop' : 'abandon');
    if (f.rateLimited) outcome = { kind: 'rate_limited' };
    throw err;
  } finally {
    c.activeUploads--;
    release(outcome);
    await spooled?.release();
  }
}

async function settleJournal(deps: UploadDeps, id: number, how: 'drop' | 'abandon'): Promise<void> {
  try {
    await withTransaction(deps.db, () => (how === 'drop' ? deps.state.journalDone(id) : deps.state.journalAbandon(id)));
  } catch {
    // A 'started' row is treated as abandoned by the janitor once it is old enough.
  }
}

/**
 * Uploads `file` and returns its file object. Throws SB_ERR_UPLOAD_FAILED with the
 * reason when it cannot, SB_ERR_CANCELLED / SB_ERR_DEADLINE_EXCEEDED when the signal ends.
 */
export function uploadFile(deps: UploadDeps, file: AttachFile & { sha256: string }, signal: AbortSignal): Promise<UploadedFile> {
  const { limits } = deps;
  return withRetry((s) => attemptOnce(deps, file, s), {
    signal, gate: deps.gate, report: deps.report,
    attempts: limits.uploadMaxAttempts, rateLimitRetries: limits.uploadMaxRateLimitRetries,
    baseDelayMs: limits.retryBaseDelayMs, maxDelayMs: limits.retryMaxDelayMs,
    // Uploads never took the KI-02 defect's shared permit; they keep to the adaptive limiter.
    around: undefined,
    retryMessage: (f, r) => `upload of ${file.relPath} failed (${httpReason(f)}); retrying in ${Math.ceil(r / 1000)} s`,
    onFailure: (f, d) => {
      if (!f.rateLimited) return;
      deps.counters.rateLimited++;
      deps.onThrottled(d.throttleMs ?? d.delayMs);
    },
    giveUp: (err, f, d, tries) => {
      if (err instanceof SbError) return err.code === ErrorCode.UPLOAD_FAILED ? err : new SbError(ErrorCode.UPLOAD_FAILED, err.message, { cause: err });
      if (d.why === 'attempts' && f.rateLimited) {
        return new SbError(ErrorCode.UPLOAD_FAILED, `throttled by OpenAI (${httpReason(f)}); gave up after ${tries.throttles + 1} tries`, { retryAfterMs: d.delayMs });
      }
      if (d.why === 'attempts') return new SbError(ErrorCode.UPLOAD_FAILED, `${httpReason(f)} (after ${tries.failures + 1} attempts)`);
      return new SbError(ErrorCode.UPLOAD_FAILED, httpReason(f));
    },
  });
}
