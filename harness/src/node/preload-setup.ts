import { renameSync, writeFileSync } from 'node:fs';
import { setupServer } from 'msw/node';
import type { SetupServer } from 'msw/node';
import { fakeConfigFromEnv } from '../fake/config.ts';
import { createFakeApi } from '../fake/fake-api.ts';
import { warmSpecCheck } from '../fake/spec-check.ts';
import type { FakeApi } from '../fake/fake-api.ts';
import { startControlServer } from './control-server.ts';
import type { ControlServer } from './control-server.ts';

/** Where the preloaded fake is reachable from code in the same process. */
export const PRELOADED_FAKE_KEY = Symbol.for('second-brain.fake-api');

export interface PreloadedFake {
  fake: FakeApi;
  server: SetupServer;
  control: ControlServer | null;
  stop(): Promise<void>;
}

/**
 * Creates the fake from the environment, intercepts with msw and, when
 * `SB_FAKE_CONTROL_FILE` is set, starts the control server and writes its address.
 */
export async function startPreloadedFake(env: NodeJS.ProcessEnv): Promise<PreloadedFake> {
  const fake = createFakeApi(fakeConfigFromEnv(env));
  warmSpecCheck(fake.settings.specValidation);
  const server = setupServer(...fake.handlers);
  server.listen({ onUnhandledFrame: 'bypass' });
  let control: ControlServer | null = null;
  const controlFile = env.SB_FAKE_CONTROL_FILE;
  if (controlFile) {
    control = await startControlServer(fake);
    // Write then rename, so a driver polling the file never reads half of it.
    const tmp = `${controlFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ port: control.port, url: control.url, pid: process.pid }));
    renameSync(tmp, controlFile);
  }
  const preloaded: PreloadedFake = {
    fake,
    server,
    control,
    async stop() {
      server.close();
      await control?.close();
    },
  };
  (globalThis as Record<symbol, unknown>)[PRELOADED_FAKE_KEY] = preloaded;
  return preloaded;
}
