/**
 * Test-only defect implementations of the vector-store code. Nothing here runs unless its
 * switch is on (`defectOn` in config/test-defects.ts, the one registry); each reintroduces
 * a failure of the first version, so a chaos scenario can be shown to fail against it.
 */
import { Semaphore } from '../runtime/semaphore.ts';

/**
 * A small process-wide permit standing in for the first version's SDK-internal semaphore
 * (KI-01, KI-02): `acquire` resolves with a release function, and a caller that never
 * calls it keeps its permit for good. Waiters leave on abort.
 */
export class DefectSemaphore {
  readonly #slots: Semaphore;

  constructor(permits: number) {
    this.#slots = new Semaphore(permits);
  }

  async acquire(signal: AbortSignal): Promise<() => void> {
    await this.#slots.acquire(signal);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#slots.release();
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
