import { setupServer } from 'msw/node';
import type { SetupServer } from 'msw/node';
import OpenAI from 'openai';
import { createFakeApi } from './fake-api.ts';
import type { FakeApi } from './fake-api.ts';
import type { FakeApiOptions } from './options.ts';
import type { ProviderName } from './routes.ts';
import { patience } from '../reference/patience.ts';

/** Shared set-up of the fake's own tests: one msw server per test file, a fresh fake per test. */

export const TEST_KEY = 'sk-test-key-9f3a';

let server: SetupServer | undefined;

/** Installs a fresh fake's handlers on the file's msw server (started on first use). */
export function useFake(options: FakeApiOptions = {}): FakeApi {
  const fake = createFakeApi(options);
  if (!server) {
    server = setupServer(...fake.handlers);
    server.listen({ onUnhandledFrame: 'bypass' });
  } else {
    server.resetHandlers(...fake.handlers);
  }
  return fake;
}

export function stopFakeServer(): void {
  server?.close();
  server = undefined;
}

/** An SDK client built after interception starts (it captures fetch when constructed). */
export function sdk(fake: FakeApi | { baseUrls: Record<ProviderName, string> }, provider: ProviderName = 'openai', apiKey = TEST_KEY): OpenAI {
  return new OpenAI({ apiKey, baseURL: fake.baseUrls[provider], maxRetries: 0, timeout: patience(5_000) });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
