/**
 * Public entry point of the harness. Every export here is public API.
 */
export {
  createFakeApi,
  createManualClock,
  systemClock,
  ROUTE_IDS,
  DEFAULT_BASE_URLS,
  LOOPBACK_PREFIXES,
  PROVIDER_NAMES,
  UPLOAD_ROUTES,
  DEFAULT_ACCOUNT_LIMITS,
  DEFAULT_DEGRADED_MULTIPLIER,
  DEFAULT_JOURNAL_LIMIT,
  FAKE_DEFAULTS,
  MARKER_PATTERN,
  formatResetDuration,
  fakeConfigFromEnv,
  parseFakeConfig,
  handleControlRequest,
} from './fake/index.ts';
export type {
  FakeApi,
  FakeApiOptions,
  FakeSettings,
  FakeClock,
  ManualClock,
  RouteId,
  RoutePattern,
  ProviderName,
  Fault,
  FaultRule,
  FaultType,
  CallSelector,
  LatencyDistribution,
  FaultControl,
  FaultRuleInfo,
  AccountControl,
  AccountLimits,
  AccountOptions,
  RateLimitState,
  ThrottleMode,
  ThrottleRequest,
  ThrottleWindow,
  Journal,
  JournalEntry,
  JournalEvent,
  JournalListener,
  FakeSeed,
  SeedFile,
  SeedResponse,
  SeedVectorStore,
  BackgroundSchedule,
  FakeState,
  FileBatchRecord,
  FileRecord,
  ResponseRecord,
  ResponseStatus,
  StateSnapshot,
  VectorStoreFileRecord,
  VectorStoreRecord,
  ControlExtension,
} from './fake/index.ts';
export { startLoopbackFake } from './node/loopback.ts';
export type { LoopbackFake, LoopbackOptions, ConnectionFaults, ConnectionStats } from './node/loopback.ts';
export { startControlServer } from './node/control-server.ts';
export type { ControlServer } from './node/control-server.ts';
export { startPreloadedFake, PRELOADED_FAKE_KEY } from './node/preload-setup.ts';
export type { PreloadedFake } from './node/preload-setup.ts';
export { runFakeOpenAiCli } from './node/fake-openai-cli.ts';
export { launchBrowser, findBrowser, OFFLINE_FLAGS, SYSTEM_CHROMIUM_PATH } from './browser/launch.ts';
export type { BrowserSource } from './browser/launch.ts';
export { guardPage } from './browser/page-guard.ts';
export type { PageWatch } from './browser/page-guard.ts';
export { ReferenceProcess } from './reference/reference-process.ts';
export type { ReferenceOptions, ReferenceWindow } from './reference/reference-process.ts';
export { busyReason, excessOver, machineStallMs, verdictOnExcess } from './reference/judging.ts';
export type { ReferenceFigures, JudgedVerdict } from './reference/judging.ts';
export { NotJudged, judgeLatency } from './reference/latency-test.ts';
export type { JudgeLatencyOptions, LatencyJudgement } from './reference/latency-test.ts';
export { startCpuLoad } from './reference/cpu-load.ts';
export { machineSlowdown, patience, waitUntil } from './reference/patience.ts';
export { strictJudgingFromEnv } from './reference/settings.ts';
export type { CpuLoad } from './reference/cpu-load.ts';
export { MAX_JUDGING_ATTEMPTS, REFERENCE_BUSY_LIMIT_MS, STRICT_JUDGING_ENV } from './reference/defaults.ts';
