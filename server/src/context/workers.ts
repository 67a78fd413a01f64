/**
 * Lifecycle and figures of the context engine's worker threads: the text pool (tokens,
 * hashes) and the reader thread (file contents).
 */
import { DEFAULTS } from '../config/defaults.ts';
import { closeReaderPool, readerPoolStats } from './read-files.ts';
import { closeTextPool, textPoolStats } from './tokenizer.ts';
import { closeSecretScanPool } from './secret-scan.ts';
import type { WorkerPoolStats } from './worker-pool.ts';

/**
 * Terminates the context worker threads (for shutdown). Pending work fails with
 * SB_ERR_SHUTTING_DOWN. A later call starts fresh threads.
 */
export async function closeContextWorkers(): Promise<void> {
  await Promise.all([closeTextPool(), closeReaderPool(), closeSecretScanPool()]);
}

/** Figures of both pools for diagnostics (KI-20); zeros for a pool not started yet. */
export function contextWorkerStats(): { text: WorkerPoolStats; reader: WorkerPoolStats } {
  return { text: textPoolStats() ?? idle(), reader: readerPoolStats() ?? idle() };
}

function idle(): WorkerPoolStats {
  return {
    size: 0, workers: 0, busy: 0, queued: 0, queueMax: DEFAULTS.CONTEXT_WORKER_QUEUE_MAX, waitingForRoom: 0,
    queueFullWaits: 0, completed: 0, cancelled: 0, failed: 0, crashed: 0, pauseMs: 0, pauseRaises: 0,
  };
}
