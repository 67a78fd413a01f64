/**
 * The stateful fake of the provider APIs. Every export here is public; everything
 * else under `fake/` is internal.
 */
export { createFakeApi } from './fake-api.ts';
export type { FakeApi } from './fake-api.ts';
export type { FakeApiOptions } from './options.ts';
export type { FakeSettings } from './context.ts';
export { createManualClock, systemClock } from './clock.ts';
export type { FakeClock, ManualClock } from './clock.ts';
export { ROUTE_IDS, DEFAULT_BASE_URLS, LOOPBACK_PREFIXES, PROVIDER_NAMES, UPLOAD_ROUTES } from './routes.ts';
export type { RouteId, RoutePattern, ProviderName } from './routes.ts';
export type { Fault, FaultRule, FaultType, CallSelector, LatencyDistribution } from './fault-types.ts';
export type { FaultControl, FaultRuleInfo } from './faults.ts';
export { DEFAULT_ACCOUNT_LIMITS, DEFAULT_DEGRADED_MULTIPLIER, applyAccountChange, formatResetDuration } from './account.ts';
export type { AccountChange, AccountControl, AccountLimits, AccountOptions, RateLimitState, ThrottleMode, ThrottleRequest, ThrottleWindow } from './account.ts';
export { DEFAULT_JOURNAL_LIMIT } from './journal.ts';
export type { Journal, JournalEntry, JournalEvent, JournalListener } from './journal.ts';
export type { FakeSeed, SeedFile, SeedResponse, SeedVectorStore } from './seed.ts';
export type {
  BackgroundSchedule,
  FakeState,
  FileBatchRecord,
  FileRecord,
  ResponseRecord,
  ResponseStatus,
  StateSnapshot,
  VectorStoreFileRecord,
  VectorStoreRecord,
} from './state.ts';
export { MARKER_PATTERN } from './answer.ts';
export { FAKE_DEFAULTS } from './defaults.ts';
export { fakeConfigFromEnv, parseFakeConfig } from './config.ts';
export { handleControlRequest } from './control.ts';
export type { ControlExtension } from './control.ts';
