/**
 * Background services around the call flow: context workers, the vector-store manager
 * and its janitor, project memory. Started by main.ts (and by tests that want them);
 * each one is bounded, off the request path, and stopped with a deadline.
 */
import type { App } from './app.ts';
import { DEFAULTS } from './config/defaults.ts';
import { closeContextWorkers } from './context/index.ts';
import { Janitor, VectorStoreManager } from './vector/index.ts';
import { MemoryQueue } from './memory/index.ts';

/** How long closing the services may take at shutdown. */
const SERVICES_CLOSE_MS = 2_000;

export async function startServices(app: App): Promise<void> {
  const closers: Array<() => Promise<void> | void> = [];
  closers.push(() => closeContextWorkers());

  // Vector stores need an OpenAI key; without one, overflow is listed as left out.
  if (app.clients.hasKey('openai')) {
    const client = app.clients.get('openai');
    const manager = new VectorStoreManager({
      client, db: app.db, instanceId: app.instanceId, serverName: 'second-brain', rateLimits: app.rateLimits,
      // Deletes owed by a request (replaced files, a cancelled upload) go to the janitor, off the request path (KI-02).
      onEvent: (e) => { if (e.type === 'cleanup_owed') app.services.janitor?.kick?.(); },
    });
    app.services.vectorStores = manager;
    const janitor = new Janitor({ client, db: app.db, instanceId: app.instanceId, intervalMs: DEFAULTS.JANITOR_INTERVAL_MS * app.config.timeScale });
    // Cleanup never runs on the request path: the janitor's first pass is deferred and unref'd.
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
