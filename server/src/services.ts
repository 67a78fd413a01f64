/**
 * Background services around the call flow: context workers, the vector-store manager
 * and its janitor, project memory. Started by main.ts (and by tests that want them);
 * each one is bounded, off the request path, and stopped with a deadline.
 *
 * Two settings tune the vector-store code, each a JSON object of numbers, read and
 * validated at startup by config/env.ts `vectorTuningFromEnv` (an unknown key or a bad
 * value is an error naming it):
 * - `SECOND_BRAIN_VECTOR_LIMITS`: overrides of the manager's limits (`VectorLimits`:
 *   `batchMaxFiles`, `batchDeadlineMs`, `batchPollIntervalMs`, `uploadConcurrencyStart`,
 *   `storeLimit`, `cleanupRequestTimeoutMs`, …). Example: `{"batchMaxFiles":10,"batchDeadlineMs":1500}`.
 * - `SECOND_BRAIN_JANITOR`: the janitor's intervals and grace periods (`intervalMs`,
 *   `startupDelayMs`, `startupRunTimeoutMs`, `storeIdleTtlMs`, `deleteTimeoutMs`, `retryBaseMs`, `orphanGraceMs`, `journalGraceMs`,
 *   `instanceStaleMs`, `deleteConcurrency`, `deleteMaxAttempts`, `maxDeletesPerRun`).
 *   Example: `{"intervalMs":500,"retryBaseMs":200}`. Without it the interval is
 *   DEFAULTS.JANITOR_INTERVAL_MS × SECOND_BRAIN_TIME_SCALE.
 * The chaos scenarios use them to compress the catalogue's minutes into seconds.
 */
import { join } from 'node:path';
import type { App } from './app.ts';
import { DEFAULTS } from './config/defaults.ts';
import { closeContextWorkers } from './context/index.ts';
import { Janitor, VectorStoreManager } from './vector/index.ts';
import { MemoryQueue } from './memory/index.ts';
import { installDefects, memoryGitReader } from './defects/index.ts';
import { sharedLoopLag } from './runtime/loop-monitor.ts';

const SERVICES_CLOSE_MS = DEFAULTS.SERVICES_CLOSE_MS;

export async function startServices(app: App): Promise<void> {
  const closers: Array<() => Promise<void> | void> = [];
  closers.push(() => closeContextWorkers());
  installDefects(app.config.testDefects);
  const tuning = app.config.vectorTuning;

  // Vector stores need an OpenAI key; without one, overflow is listed as left out.
  if (app.clients.hasKey('openai')) {
    const client = app.clients.get('openai');
    const loopLag = sharedLoopLag();
    const manager = new VectorStoreManager({
      // One throttle gate for the OpenAI account: a 429 met by a chat call holds the uploads back too, and the other way round (KI-17).
      client, db: app.db, instanceId: app.instanceId, serverName: 'second-brain', gate: app.gates.openai,
      ...(tuning.limits ? { limits: tuning.limits } : {}),
      // Uploads back off while this process's own loop lags: then the process, not the provider, is the bottleneck.
      loopLagMs: () => loopLag.maxMs(),
      // Large upload bodies go out from a private file, read asynchronously (vector/spool.ts).
      spoolDir: join(app.config.home, 'upload-spool'),
      // Deletes owed by a request (replaced files, a cancelled upload) go to the janitor, off the request path (KI-02).
      onEvent: (e) => { if (e.type === 'cleanup_owed') app.services.janitor?.kick?.(); },
    });
    app.services.vectorStores = manager;
    const janitor = new Janitor({
      client, db: app.db, instanceId: app.instanceId, gate: app.gates.openai,
      intervalMs: DEFAULTS.JANITOR_INTERVAL_MS * app.config.timeScale,
      startupDelayMs: DEFAULTS.JANITOR_STARTUP_DELAY_MS * app.config.timeScale,
      // The janitor's uploads-in-flight window must match the manager's request deadline.
      ...(tuning.limits?.uploadRequestTimeoutMs !== undefined ? { uploadRequestTimeoutMs: tuning.limits.uploadRequestTimeoutMs } : {}),
      ...tuning.janitor,
    });
    // Cleanup never runs on the request path: the janitor's first pass comes a few seconds
    // after start (KI-13: a killed process's debris is gone within a minute), unref'd.
    janitor.start();
    app.services.janitor = janitor;
    closers.push(() => janitor.stop());
    closers.push(() => Promise.race([manager.idle(), new Promise<void>((r) => setTimeout(r, SERVICES_CLOSE_MS).unref())]));

    // KI-11: project memory is background work — a bounded queue, one task at a time, each
    // with a deadline; failures are counted, never thrown into a later call.
    if (app.config.memoryEnabled) {
      const memory = new MemoryQueue({ client, db: app.db, instanceId: app.instanceId, projectRoot: process.cwd(), entryGitInfo: memoryGitReader(app.config.testDefects) });
      app.services.memory = memory;
      closers.push(() => memory.close(SERVICES_CLOSE_MS));
    }
  }

  app.services.close = async () => {
    for (const c of closers.reverse()) {
      try { await c(); } catch (err) { app.log.warn({ err: (err as Error).message }, 'service close failed'); }
    }
  };
}
