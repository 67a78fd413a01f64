import type { HttpHandler } from 'msw';
import { AccountModel } from './account.ts';
import type { AccountControl } from './account.ts';
import { systemClock } from './clock.ts';
import type { FakeClock } from './clock.ts';
import type { FakeRuntime, FakeSettings } from './context.ts';
import { FaultRegistry } from './faults.ts';
import type { FaultControl } from './faults.ts';
import { buildHandlers } from './handlers.ts';
import { createIdFactory } from './ids.ts';
import { Journal } from './journal.ts';
import { resolveBaseUrls, resolveSettings, validateSettings } from './options.ts';
import type { FakeApiOptions } from './options.ts';
import { FAKE_DEFAULTS } from './defaults.ts';
import type { ProviderName, RouteId } from './routes.ts';
import { createSeed } from './seed.ts';
import type { FakeSeed } from './seed.ts';
import { FakeState } from './state.ts';

/** One stateful fake of the three provider APIs. */
export interface FakeApi {
  /** msw handlers: pass to `setupServer(...fake.handlers)` or msw's `getResponse`. */
  readonly handlers: HttpHandler[];
  /** Base URL of each provider (point the SDK clients' `baseURL` here). */
  readonly baseUrls: Readonly<Record<ProviderName, string>>;
  /** Provider-side state: `responses`, `files`, `vectorStores`, `vectorStoreFiles`, `fileBatches`. */
  readonly state: FakeState;
  readonly seed: FakeSeed;
  readonly faults: FaultControl;
  readonly account: AccountControl;
  readonly journal: Journal;
  readonly clock: FakeClock;
  /** Current behaviour settings; change them with `configure`. */
  readonly settings: Readonly<FakeSettings>;
  /** Changes behaviour settings mid-run (validated like the options). */
  configure(settings: Partial<FakeSettings>): void;
}

/**
 * Creates a fake of the OpenAI Responses/Files/Vector-stores API and the xAI and
 * Gemini Chat Completions APIs. Nothing is intercepted until the handlers are
 * installed (`setupServer`, `startLoopbackFake` or the preload).
 *
 * @example
 * const fake = createFakeApi({ seed: 7 });
 * const server = setupServer(...fake.handlers);
 * server.listen({ onUnhandledFrame: 'bypass' });
 * const client = new OpenAI({ apiKey: 'sk-test-1234', baseURL: fake.baseUrls.openai, maxRetries: 0 });
 */
export function createFakeApi(options: FakeApiOptions = {}): FakeApi {
  const clock = options.clock ?? systemClock;
  const seedValue = options.seed ?? FAKE_DEFAULTS.SEED;
  const baseUrls = resolveBaseUrls(options.baseUrls);
  const settings = resolveSettings(options);
  const state = new FakeState(clock, createIdFactory(seedValue));
  const faults = new FaultRegistry(seedValue);
  faults.addAll(options.faults ?? []);
  const counters = new Map<RouteId, number>();
  const runtime: FakeRuntime = {
    clock,
    state,
    journal: new Journal(options.journalLimit),
    faults,
    account: new AccountModel(clock, options.account),
    settings,
    basePaths: {
      openai: new URL(baseUrls.openai).pathname.replace(/\/+$/, ''),
      xai: new URL(baseUrls.xai).pathname.replace(/\/+$/, ''),
      gemini: new URL(baseUrls.gemini).pathname.replace(/\/+$/, ''),
    },
    routeCalls: {
      next(route) {
        const n = (counters.get(route) ?? 0) + 1;
        counters.set(route, n);
        return n;
      },
    },
  };
  const seed = createSeed(state);
  for (const file of options.seedState?.files ?? []) seed.file(file);
  for (const { count, ...store } of options.seedState?.vectorStores ?? []) seed.vectorStores(count ?? 1, store);

  return {
    handlers: buildHandlers(runtime, baseUrls),
    baseUrls,
    state,
    seed,
    faults,
    account: runtime.account,
    journal: runtime.journal,
    clock,
    settings,
    configure(next) {
      const merged: FakeSettings = { ...settings, ...next, background: { ...settings.background, ...next.background } };
      validateSettings(merged);
      Object.assign(settings, merged);
    },
  };
}
