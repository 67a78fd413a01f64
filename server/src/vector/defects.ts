/**
 * Test-only defect implementations of the vector-store code. Nothing here runs unless its
 * switch is on (`defectOn` in config/test-defects.ts, the one registry); each reintroduces
 * a failure of the first version, so a chaos scenario can be shown to fail against it.
 */
import { abortReasonToError } from '../errors.ts';


/**
 * A small process-wide semaphore standing in for the first version's SDK-internal one
 * (KI-01, KI-02): `acquire` resolves with a release function, and a caller that never
 * calls it keeps its permit for good. Waiters leave on abort.
 */
export class DefectSemaphore {
  #free: number;
  readonly #waiters: Array<() => void> = [];

  constructor(permits: number) {
    this.#free = permits;
  }

  async acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) throw abortReasonToError(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return this.#releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => { signal.removeEventListener('abort', onAbort); resolve(); };
      const onAbort = () => {
        const i = this.#waiters.indexOf(wake);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(abortReasonToError(signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(wake);
    });
    return this.#releaser();
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiters.shift();
      if (next) next(); else this.#free++;
    };
  }
}

/**
 * `store-create-lock-leak` (KI-01): one store creation at a time, and the lock is never
 * given back, so the second overflow query hangs before its store is created.
 */
export const storeCreateLock = new DefectSemaphore(1);

/**
 * `delete-leaks-permit` (KI-02): every vector-store request takes the one permit; a
 * delete that is cancelled or times out never returns its permit, as the first version's
 * SDK semaphore did, and later requests wait forever.
 */
export const clientPermits = new DefectSemaphore(1);
