/**
 * Session locks for the KI-15 switches, at the seam App.locks (state/sessions.ts
 * SessionLock), chosen by defects/seams.ts.
 */
import type { SessionLock } from '../state/sessions.ts';

/** `no-session-lock`: calls in one session are not serialised at all. */
export function noSessionLock(): SessionLock {
  return { acquire: async () => () => {}, held: 0 };
}

/** `session-lock-leak`: a finished call keeps its session slot, so the next follow-up hangs before any request is sent. */
export function leakingSessionLock(inner: SessionLock): SessionLock {
  return {
    acquire: async (key, signal) => {
      await inner.acquire(key, signal);
      return () => {};
    },
    get held() { return inner.held; },
  };
}
