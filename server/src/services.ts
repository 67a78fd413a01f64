/**
 * Background services around the call flow: context workers, the vector-store manager
 * and its janitor, project memory. Started by main.ts (and by tests that want them);
 * each one is bounded, off the request path, and stopped with a deadline.
 *
 * Two settings tune the vector-store code, each a JSON object of numbers, validated at
 * startup (an unknown key or a bad value is an error naming it):
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
import type { App } from './app.ts';
import { DEFAULTS } from './config/defaults.ts';
import { ErrorCode, SbError } from './errors.ts';
import { closeContextWorkers } from './context/index.ts';
import { Janitor, VectorStoreManager, defaultVectorLimits } from './vector/index.ts';
import type { JanitorOptions, VectorLimits } from './vector/index.ts';
import { MemoryQueue } from './memory/index.ts';
import { installTestDefects } from './config/test-defects.ts';

const SERVICES_CLOSE_MS = DEFAULTS.SERVICES_CLOSE_MS;

const JANITOR_KEYS = [
  'intervalMs', 'startupDelayMs', 'startupRunTimeoutMs', 'storeIdleTtlMs', 'deleteConcurrency', 'deleteTimeoutMs', 'deleteMaxAttempts', 'retryBaseMs',
  'instanceStaleMs', 'orphanGraceMs', 'journalGraceMs', 'uploadRequestTimeoutMs', 'maxDeletesPerRun',
] as const;
type JanitorTuning = Partial<Pick<JanitorOptions, (typeof JANITOR_KEYS)[number]>>;

/** A JSON object of finite numbers >= 0 from `env[name]`, keys limited to `accepted`; undefined when unset. */
export function numbersFromEnv(env: NodeJS.ProcessEnv, name: string, accepted: readonly string[]): Record<string, number> | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new SbError(ErrorCode.CONFIG, `${name} is not JSON (${(err as Error).message}). Use an object of numbers, e.g. {"${accepted[0]}":1000}.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SbError(ErrorCode.CONFIG, `${name} must be a JSON object of numbers, e.g. {"${accepted[0]}":1000}.`);
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!accepted.includes(k)) throw new SbError(ErrorCode.CONFIG, `${name}: unknown key "${k}". Accepted: ${accepted.join(', ')}.`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new SbError(ErrorCode.CONFIG, `${name}: "${k}" must be a finite number >= 0; got ${JSON.stringify(v)}.`);
    out[k] = v;
  }
  return out;
}

/** Vector-store settings from the environment (see the module comment). Throws SB_ERR_CONFIG. */
export function vectorSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): { limits?: Partial<VectorLimits>; janitor?: JanitorTuning } {
  const limits = numbersFromEnv(env, 'SECOND_BRAIN_VECTOR_LIMITS', Object.keys(defaultVectorLimits())) as Partial<VectorLimits> | undefined;
  const janitor = numbersFromEnv(env, 'SECOND_BRAIN_JANITOR', JANITOR_KEYS) as JanitorTuning | undefined;
  return { ...(limits ? { limits } : {}), ...(janitor ? { janitor } : {}) };
}

export async function startServices(app: App): Promise<void> {
  const closers: Array<() => Promise<void> | void> = [];
  closers.push(() => closeContextWorkers());
  installTestDefects(app.config.testDefects);
  const tuning = vectorSettingsFromEnv();

  // Vector stores need an OpenAI key; without one, overflow is listed as left out.
  if (app.clients.hasKey('openai')) {
    const client = app.clients.get('openai');
    const manager = new VectorStoreManager({
      client, db: app.db, instanceId: app.instanceId, serverName: 'second-brain', rateLimits: app.rateLimits,
      ...(tuning.limits ? { limits: tuning.limits } : {}),
      // Deletes owed by a request (replaced files, a cancelled upload) go to the janitor, off the request path (KI-02).
      onEvent: (e) => { if (e.type === 'cleanup_owed') app.services.janitor?.kick?.(); },
    });
    app.services.vectorStores = manager;
    const janitor = new Janitor({
      client, db: app.db, instanceId: app.instanceId, rateLimits: app.rateLimits,
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
      const memory = new MemoryQueue({ client, db: app.db, instanceId: app.instanceId, projectRoot: process.cwd() });
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
