/**
 * Background services around the call flow: context workers, the vector-store manager
 * and its janitor, project memory. Started by main.ts (and by tests that want them);
 * each one is bounded, off the request path, and stopped with a deadline.
 */
import type { App } from './app.ts';
import { closeContextWorkers } from './context/index.ts';

export async function startServices(app: App): Promise<void> {
  const closers: Array<() => Promise<void> | void> = [];
  closers.push(() => closeContextWorkers());
  app.services.close = async () => {
    for (const c of closers.reverse()) {
      try { await c(); } catch (err) { app.log.warn({ err: (err as Error).message }, 'service close failed'); }
    }
  };
}
