/**
 * Uploading one file object, under the adaptive concurrency limit and the throttle gate.
 *
 * - Bounded: at most `uploadMaxAttempts` tries for server and connection failures, plus
 *   at most `uploadMaxRateLimitRetries` tries after a 429, each after the provider's
 *   retry-after (KI-17). The slot is released before any wait, so a sleeping retry
 *   never holds concurrency another upload could use.
 * - Cancellable: the call's signal reaches the read, the request and every wait (KI-03).
 * - Journaled: a row is written before each request and removed once the outcome is
 *   known. A request whose outcome is unknown (aborted, timed out, connection lost)
 *   leaves its row for the janitor, which may find a file object the provider created.
 */
import type OpenAI from 'openai';
import { classifyFailure } from '../resilience/classify.ts';
import { toFile } from 'openai';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { withTransaction, type Db } from '../state/db.ts';
import { ErrorCode, SbError, abortReasonToError } from '../errors.ts';
import { fullJitter } from '../resilience/sleep.ts';
import { parseRemainingRequests } from '../resilience/retry-after.ts';
import type { AdaptiveConcurrency, SlotOutcome } from './adaptive-concurrency.ts';
import { readContent, sha256Of, uploadName } from './content.ts';
import type { VectorState } from './state.ts';
import type { AttachFile, VectorLimits } from './types.ts';
import { sleep, type ThrottleGate } from './upstream.ts';

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
}

export interface UploadedFile { fileId: string; journalId: number; bytes: number }

type Attempt =
  | { kind: 'done'; value: UploadedFile }
  | { kind: 'rate_limited'; retryAfterMs: number | undefined; reason: string }
  | { kind: 'retry'; retryAfterMs: number | undefined; reason: string }
  | { kind: 'fatal'; reason: string }
  | { kind: 'gated' };

function httpReason(f: ReturnType<typeof classifyFailure>): string {
  return f.status ? `HTTP ${f.status}${f.code ? ` ${f.code}` : ''}: ${f.message}` : f.message;
}

async function attemptOnce(deps: UploadDeps, file: AttachFile & { sha256: string }, signal: AbortSignal): Promise<Attempt> {
  const release = await deps.limiter.acquire(signal);
  // A slot freed by one upload's answer is taken by the next upload in the same microtask
  // run; with 16 uploads finishing together that chain can hold the loop for tens of ms.
  // One turn of the loop per upload lets pings and other I/O in between (KI-01, KI-12).
  await yieldToLoop();
  // A 429 may have closed the gate while this upload queued for its slot (KI-17).
  if (deps.gate.remainingMs() > 0) {
    release({ kind: 'unused' });
    return { kind: 'gated' };
  }
  let outcome: SlotOutcome = { kind: 'error' };
  let journalId: number | undefined;
  const c = deps.counters;
  c.maxConcurrentUploads = Math.max(c.maxConcurrentUploads, ++c.activeUploads);
  try {
    const bytes = await readContent(file, signal);
    if (sha256Of(bytes) !== file.sha256) {
      return { kind: 'fatal', reason: 'the file changed on disk during the upload; it will be uploaded on the next call' };
    }
    const name = uploadName(file.relPath);
    journalId = await withTransaction(deps.db, () => deps.state.journalStart(deps.owner, file.sha256, file.relPath, name, bytes.length, Date.now()), signal);
    const upload = await toFile(bytes, name, { type: 'text/plain' });
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
    return { kind: 'done', value: { fileId: data.id, journalId, bytes: bytes.length } };
  } catch (err) {
    if (signal.aborted) {
      outcome = { kind: 'aborted' };
      if (journalId !== undefined) await settleJournal(deps, journalId, 'abandon');
      throw abortReasonToError(signal.reason);
    }
    if (err instanceof SbError) return { kind: 'fatal', reason: err.message };
    const f = classifyFailure(err);
    deps.limiter.noteHeadroom(f.remainingRequests);
    // An answered request created nothing; an unanswered one may have (janitor checks).
    if (journalId !== undefined) await settleJournal(deps, journalId, f.answered ? 'drop' : 'abandon');
    if (f.rateLimited) {
      outcome = { kind: 'rate_limited' };
      return { kind: 'rate_limited', retryAfterMs: f.retryAfterMs, reason: httpReason(f) };
    }
    return f.retryable ? { kind: 'retry', retryAfterMs: f.retryAfterMs, reason: httpReason(f) } : { kind: 'fatal', reason: httpReason(f) };
  } finally {
    c.activeUploads--;
    release(outcome);
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
export async function uploadFile(deps: UploadDeps, file: AttachFile & { sha256: string }, signal: AbortSignal): Promise<UploadedFile> {
  const { limits } = deps;
  let failures = 0;
  let throttles = 0;
  for (;;) {
    await deps.gate.wait(signal, deps.report);
    const a = await attemptOnce(deps, file, signal);
    switch (a.kind) {
      case 'done':
        return a.value;
      case 'gated':
        continue;
      case 'fatal':
        throw new SbError(ErrorCode.UPLOAD_FAILED, a.reason);
      case 'rate_limited': {
        deps.counters.rateLimited++;
        const wait = a.retryAfterMs ?? Math.max(1_000, fullJitter(throttles, limits.retryBaseDelayMs, limits.retryMaxDelayMs));
        // Everyone waits behind the gate, not just this file: no retry storm (KI-17).
        deps.gate.throttle(wait);
        deps.onThrottled(wait);
        if (++throttles > limits.uploadMaxRateLimitRetries) {
          throw new SbError(ErrorCode.UPLOAD_FAILED, `throttled by OpenAI (${a.reason}); gave up after ${throttles} tries`, { retryAfterMs: wait });
        }
        continue;
      }
      case 'retry': {
        if (++failures >= limits.uploadMaxAttempts) {
          throw new SbError(ErrorCode.UPLOAD_FAILED, `${a.reason} (after ${failures} attempts)`);
        }
        const wait = a.retryAfterMs ?? fullJitter(failures, limits.retryBaseDelayMs, limits.retryMaxDelayMs);
        deps.report(`upload of ${file.relPath} failed (${a.reason}); retrying in ${Math.ceil(wait / 1000)} s`);
        await sleep(wait, signal);
        continue;
      }
    }
  }
}
