/**
 * Gates around vector-store requests: the seam where the wiring may put a shared permit
 * in front of them. Production installs none, so every request goes straight out; a
 * test defect (defects/vector.ts, installed by defects/seams.ts) puts back the first
 * version's SDK semaphore (KI-01, KI-02).
 */
export interface VectorGates {
  /** Taken before each try of `withRetry`; its release is called when that try ends. */
  request?: (signal: AbortSignal) => Promise<() => void>;
  /** Sends one owed delete (cleanup.ts): `send` is the request itself. */
  delete?: (signal: AbortSignal, send: () => Promise<void>) => Promise<void>;
  /** Waited for before a session store is created (stores.ts). */
  storeCreate?: (signal: AbortSignal) => Promise<void>;
  /**
   * Creates a session store in place of the counted, bounded path (stores.ts): `send`
   * is the create request itself, with no count before it and no retry around it.
   */
  createStore?: <T>(send: (signal: AbortSignal) => Promise<T>, signal: AbortSignal) => Promise<T>;
}

let installed: VectorGates = {};

/** Installed once at startup by the wiring; `{}` (no gates) unless a test defect is on. */
export function installVectorGates(gates: VectorGates): void {
  installed = gates;
}

export function vectorGates(): VectorGates {
  return installed;
}
