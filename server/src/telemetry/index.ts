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
export type { Telemetry } from './start.ts';
export { recordToolDuration, recordGenAiDuration, recordTokenUsage, countRetry } from './metrics.ts';
export { testBlockLoop } from './watchdog.ts';
export { withSpan, recordError, SpanKind } from './spans.ts';
