/**
 * Vector-store gates that put back the first version's SDK-internal semaphore (KI-01,
 * KI-02), for the `store-create-lock-leak` and `delete-leaks-permit` switches. The seam
 * is vector/gates.ts; defects/seams.ts installs these when their switch is on.
 */
import { Semaphore } from '../runtime/semaphore.ts';
import type { VectorGates } from '../vector/gates.ts';
import { isStoreLimitError, sleep } from '../vector/upstream.ts';
import { DEFAULTS } from '../config/defaults.ts';

/**
 * A small process-wide permit: `acquire` resolves with a release function, and a caller
 * that never calls it keeps its permit for good. Waiters leave on abort.
 */
export class LeakyPermits {
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
export function storeCreateLockLeak(): Pick<VectorGates, 'storeCreate'> {
  const lock = new LeakyPermits(1);
  return { storeCreate: async (signal) => { await lock.acquire(signal); } };
}

/**
 * `delete-leaks-permit` (KI-02): every vector-store request takes the one permit; a
 * delete gives it back only when the provider answered, so one cancelled by its
 * deadline keeps it, as the first version's SDK semaphore did, and later requests wait
 * forever.
 */
export function deleteLeaksPermit(): Pick<VectorGates, 'request' | 'delete'> {
  const permits = new LeakyPermits(1);
  return {
    request: (signal) => permits.acquire(signal),
    delete: async (signal, send) => {
      const release = await permits.acquire(signal);
      try {
        await send();
        release();
      } catch (err) {
        if (!signal.aborted) release();
        throw err;
      }
    },
  };
}

/** How long the first version waited before trying a refused store creation again. */
const STORE_LIMIT_RETRY_MS = DEFAULTS.STORE_LIMIT_DEFECT_RETRY_MS;

/**
 * `store-limit-retried` (KI-13): what the first version did at the vector-store limit:
 * create without counting first, and take the provider's limit error for a passing
 * failure, trying again every half second until the call's deadline.
 */
export function storeLimitRetried(): Pick<VectorGates, 'createStore'> {
  return {
    createStore: async (send, signal) => {
      for (;;) {
        try {
          return await send(signal);
        } catch (err) {
          if (signal.aborted || !isStoreLimitError(err)) throw err;
          await sleep(STORE_LIMIT_RETRY_MS, signal);
        }
      }
    },
  };
}
