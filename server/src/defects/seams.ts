/**
 * Where the switched-on test defects swap components, all in one place. The wiring
 * (app.ts, services.ts, main.ts) asks here for each component that has a seam; with no
 * switch on, every answer is the production component (or none).
 */
import type { ProviderId } from '../config/models.ts';
import { installTestDefects, type TestDefect } from '../config/test-defects.ts';
import type { LogShipper } from '../telemetry/start.ts';
import type { EntryGitInfoFn } from '../memory/git-info.ts';
import type { SendCompletion } from '../providers/chat-completions.ts';
import { sendCompletion } from '../providers/chat-completions.ts';
import type { SessionLock } from '../state/sessions.ts';
import { installVectorGates, type VectorGates } from '../vector/gates.ts';
import { gitInfoOnEventLoop } from './memory.ts';
import { signalDropping } from './providers.ts';
import { leakingSessionLock, noSessionLock } from './session-locks.ts';
import { syncLogShipper } from './sync-log-shipper.ts';
import { syncStderrDestination } from './sync-stderr.ts';
import { deleteLeaksPermit, storeCreateLockLeak, storeLimitRetried } from './vector.ts';

type Defects = ReadonlySet<TestDefect>;

/**
 * Installs the process-wide parts: the registry read by the remaining `defectOn`
 * branches, and the vector-store gates (`store-create-lock-leak`, `delete-leaks-permit`,
 * `store-limit-retried`).
 * Called once by startServices.
 */
export function installDefects(defects: Defects): void {
  installTestDefects(defects);
  const gates: VectorGates = {
    ...(defects.has('store-create-lock-leak') ? storeCreateLockLeak() : {}),
    ...(defects.has('delete-leaks-permit') ? deleteLeaksPermit() : {}),
    ...(defects.has('store-limit-retried') ? storeLimitRetried() : {}),
  };
  installVectorGates(gates);
}

/** App.locks: `lock` itself, none at all (`no-session-lock`), or one that keeps its slots (`session-lock-leak`). */
export function sessionLock(defects: Defects, lock: SessionLock): SessionLock {
  if (defects.has('no-session-lock')) return noSessionLock();
  if (defects.has('session-lock-leak')) return leakingSessionLock(lock);
  return lock;
}

/** The Chat Completions sender of `provider`: one that drops the signal under `<provider>-ignores-signal`. */
export function completionSender(defects: Defects, provider: ProviderId): SendCompletion | undefined {
  // OpenAI's calls go through the Responses API; its cancel defects are poll-ignores-signal and no-upstream-cancel.
  const drops = provider === 'xai' ? defects.has('xai-ignores-signal') : provider === 'gemini' ? defects.has('gemini-ignores-signal') : false;
  return drops ? signalDropping(sendCompletion) : undefined;
}

/** The logger's destination: pino's synchronous fd 2 under `sync-stderr-logger`; otherwise none (the bounded stderr writer). */
export function logDestination(defects: Defects): { write(s: string): unknown } | undefined {
  return defects.has('sync-stderr-logger') ? syncStderrDestination() : undefined;
}

/** A second, synchronous log shipper under `blocking-telemetry-export`; otherwise none. */
export function telemetryLogShipper(defects: Defects): LogShipper | undefined {
  return defects.has('blocking-telemetry-export') ? syncLogShipper : undefined;
}

/** The memory queue's entry git reader: git on the event loop under `memory-on-event-loop`; otherwise the queue's own. */
export function memoryGitReader(defects: Defects): EntryGitInfoFn | undefined {
  return defects.has('memory-on-event-loop') ? gitInfoOnEventLoop : undefined;
}
