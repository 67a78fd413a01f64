import type { AccountOptions } from './account.ts';
import type { FakeClock } from './clock.ts';
import type { GeminiErrorShape } from './dialects.ts';
import type { FakeSettings } from './context.ts';
import { FAKE_DEFAULTS } from './defaults.ts';
import type { FaultRule } from './fault-types.ts';
import { DEFAULT_BASE_URLS, PROVIDER_NAMES } from './routes.ts';
import type { ProviderName } from './routes.ts';
import type { SeedFile, SeedVectorStore } from './seed.ts';
import type { SpecValidationMode } from './spec-check.ts';
import type { BackgroundSchedule } from './state.ts';

export interface FakeApiOptions {
  /** Seed of ids, jitter and distributions. Default 1. */
  seed?: number;
  /** Default: `performance.now()` / `Date.now()`. Inject a manual clock for pure timing tests. */
  clock?: FakeClock;
  /** Where each provider is mounted. Default: `http://openai.fake/v1`, `http://xai.fake/v1`, `http://gemini.fake/v1beta/openai`. */
  baseUrls?: Partial<Record<ProviderName, string>>;
  /** Vector stores a project may hold (KI-13). Default 100. */
  storeLimit?: number;
  /** Background response schedule. Default 20 ms `queued`, 20 ms `in_progress`, then `completed`. */
  background?: Partial<BackgroundSchedule>;
  /** Time a file attached to a store stays `in_progress`. Default 0 ms. */
  fileProcessingMs?: number;
  /** Gap between SSE events. Default 0 ms. */
  streamEventIntervalMs?: number;
  /** Answer 401 to requests without an API key, as the providers do. Default true. */
  requireApiKey?: boolean;
  /**
   * Check every request and response against the vendored OpenAI spec. `'enforce'`
   * (default) answers a violation (400 `spec_violation` for a request, 418
   * `fake_spec_violation` for the fake's own response) and journals it; `'record'` only
   * journals it; `'off'` skips the check.
   */
  specValidation?: SpecValidationMode;
  /** Status for an unknown or expired `previous_response_id`: 400 (the live API, default) or 404. */
  previousResponseNotFoundStatus?: 400 | 404;
  /** Gemini's error body: Google's error in a list, `[{error}]` (what its OpenAI-compatible endpoint sends, default), or `{error}`. */
  geminiErrorShape?: GeminiErrorShape;
  account?: AccountOptions;
  /** Fault rules installed at creation. */
  faults?: FaultRule[];
  /** Journal entries retained before the oldest are dropped. Default 10 000. */
  journalLimit?: number;
  /** Provider state to create at start. */
  seedState?: { files?: SeedFile[]; vectorStores?: Array<SeedVectorStore & { count?: number }> };
}

export function resolveSettings(options: FakeApiOptions): FakeSettings {
  const settings: FakeSettings = {
    storeLimit: options.storeLimit ?? FAKE_DEFAULTS.STORE_LIMIT,
    background: {
      queuedMs: options.background?.queuedMs ?? FAKE_DEFAULTS.BACKGROUND_QUEUED_MS,
      inProgressMs: options.background?.inProgressMs ?? FAKE_DEFAULTS.BACKGROUND_IN_PROGRESS_MS,
      final: options.background?.final ?? 'completed',
    },
    fileProcessingMs: options.fileProcessingMs ?? FAKE_DEFAULTS.FILE_PROCESSING_MS,
    streamEventIntervalMs: options.streamEventIntervalMs ?? FAKE_DEFAULTS.STREAM_EVENT_INTERVAL_MS,
    requireApiKey: options.requireApiKey ?? true,
    specValidation: options.specValidation ?? 'enforce',
    previousResponseNotFoundStatus: options.previousResponseNotFoundStatus ?? 400,
    geminiErrorShape: options.geminiErrorShape ?? 'list',
  };
  validateSettings(settings);
  return settings;
}

export function validateSettings(settings: FakeSettings): void {
  const nonNegative: Array<[string, number]> = [
    ['storeLimit', settings.storeLimit],
    ['background.queuedMs', settings.background.queuedMs],
    ['background.inProgressMs', settings.background.inProgressMs],
    ['fileProcessingMs', settings.fileProcessingMs],
    ['streamEventIntervalMs', settings.streamEventIntervalMs],
  ];
  for (const [name, value] of nonNegative) {
    if (!(value >= 0)) throw new RangeError(`${name} must be a number >= 0, got ${value}`);
  }
  if (!['completed', 'failed', 'incomplete', 'cancelled'].includes(settings.background.final)) {
    throw new RangeError(`background.final must be one of completed, failed, incomplete, cancelled; got ${settings.background.final}`);
  }
  if (!['enforce', 'record', 'off'].includes(settings.specValidation)) {
    throw new RangeError(`specValidation must be one of enforce, record, off; got ${settings.specValidation}`);
  }
  if (settings.previousResponseNotFoundStatus !== 400 && settings.previousResponseNotFoundStatus !== 404) {
    throw new RangeError(`previousResponseNotFoundStatus must be 400 or 404; got ${settings.previousResponseNotFoundStatus}`);
  }
  if (settings.geminiErrorShape !== 'list' && settings.geminiErrorShape !== 'object') {
    throw new RangeError(`geminiErrorShape must be 'list' or 'object'; got ${String(settings.geminiErrorShape)}`);
  }
}

export function resolveBaseUrls(overrides: FakeApiOptions['baseUrls'] = {}): Record<ProviderName, string> {
  const out = { ...DEFAULT_BASE_URLS };
  for (const [name, value] of Object.entries(overrides)) {
    if (!PROVIDER_NAMES.includes(name as ProviderName)) throw new RangeError(`baseUrls.${name}: unknown provider; accepted: ${PROVIDER_NAMES.join(', ')}`);
    if (value === undefined) continue;
    try {
      new URL(value);
    } catch (error) {
      throw new RangeError(`baseUrls.${name} must be an absolute URL, got '${value}'`, { cause: error });
    }
    out[name as ProviderName] = value.replace(/\/+$/, '');
  }
  return out;
}
