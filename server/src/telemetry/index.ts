/**
 * Telemetry's public entry: the SDK set-up, the metric functions, the event-loop watchdog
 * and the span helpers. Everything here is safe to call whether or not telemetry runs.
 *
 * @example
 * // main.ts, first thing after the configuration is loaded:
 * const telemetry = startTelemetry({ home: config.home, serviceVersion: SERVER_VERSION, registry: app.inflight });
 * app.services.loopStats = () => telemetry.watchdog.snapshot();
 * // on shutdown:
 * await telemetry.shutdown(DEFAULTS.SHUTDOWN_GRACE_MS);
 */
export { startTelemetry } from './start.ts';
export type { StartTelemetryOptions, Telemetry, TelemetryDrops } from './start.ts';
export { captureContentEnabled } from './config.ts';
export {
  recordToolDuration, recordGenAiDuration, recordTokenUsage, countRetry, count429, countCircuitOpen, countUpload,
  setRateLimitHeadroom, rateLimitHeadroom,
} from './metrics.ts';
export { testBlockLoop } from './watchdog.ts';
export type { LoopWatchdog, LoopWatchdogSnapshot, LoopStall } from './watchdog.ts';
export {
  withSpan, contextFromMeta, markCancelled, recordError, recordRateLimitHeaders, errorType, tracer, activeSpan,
  SpanKind, SpanStatusCode,
} from './spans.ts';
export type { Span, Attributes, Context } from './spans.ts';
