/**
 * startTelemetry: the OpenTelemetry SDK set-up.
 *
 * Built from the SDK's providers rather than NodeSDK, because NodeSDK
 * - reads process.env only, while the server passes its own `env` (tests, embedding);
 * - installs a console diag logger when OTEL_LOG_LEVEL is set, and console.info/debug
 *   write to stdout, which carries the MCP protocol;
 * - loads the gRPC, Zipkin and Prometheus exporters at import (~0.7 s measured), none of
 *   which this server uses;
 * - would need overriding anyway for the local-file default, the bounded counted
 *   processors and the redaction on the export path.
 *
 * Nothing here does network I/O or synchronous file I/O: exporters connect on their first
 * export, and the local files are opened by their async writer.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { context, diag, logs, metrics, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider,
  type Sampler, type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { ErrorCode, SbError } from '../errors.ts';
import { droppedLogCount } from '../logging/logger.ts';
import type { InflightRegistry } from '../runtime/inflight.ts';
import { ActiveSpanTracker } from './active-spans.ts';
import { BoundedBatchLogRecordProcessor, BoundedBatchSpanProcessor, DropCounters, countingMetricExporter } from './bounded.ts';
import { readTelemetryConfig, setCaptureContent, type Env, type SignalTarget, type TelemetryConfig } from './config.ts';
import { installDiagnostics } from './diag.ts';
import { FileLogRecordExporter, FileMetricExporter, FileSpanExporter } from './file-exporters.ts';
import { enableInstrumentations, type Instrumentations } from './instrumentations.ts';
import { bridgeLogs } from './log-bridge.ts';
import { bindMetrics, countLoopStall } from './metrics.ts';
import { ExporterAgents, otlpLogExporter, otlpMetricExporter, otlpSpanExporter } from './otlp-exporters.ts';
import {
  ATTR_PROCESS_PID, ATTR_PROCESS_RUNTIME_NAME, ATTR_PROCESS_RUNTIME_VERSION, ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
} from './semconv.ts';
import { StallProfiler } from './stall-profiler.ts';
import { SpanLogProcessor } from './span-log.ts';
import { syncLogShipper } from './sync-log-shipper.ts';
import { TRACER_NAME } from './spans.ts';
import { LoopWatchdog } from './watchdog.ts';
import { DEFAULTS } from '../config/defaults.ts';

export interface StartTelemetryOptions {
  /** The server's home directory; local telemetry files go to `<home>/telemetry/`. */
  home: string;
  /** Reported as service.version. */
  serviceVersion: string;
  /** In-flight calls: the watchdog names them on a stall, the in-flight gauge counts them by phase. */
  registry?: InflightRegistry;
  /** Where OTEL_* and SECOND_BRAIN_* settings are read. Default process.env. */
  env?: Env;
  /** Replace the configured exporters (tests, embedding); they still sit behind the bounded, counted, redacting processors. */
  exporters?: { spans?: SpanExporter; logs?: LogRecordExporter; metrics?: PushMetricExporter };
  /** Watchdog threshold in ms. Default DEFAULTS.LOOP_STALL_THRESHOLD_MS. */
  loopStallThresholdMs?: number;
  /**
   * Test defect `blocking-telemetry-export` (KI-09, KI-21): every log record is also
   * shipped to the OTLP logs endpoint synchronously, on the event loop, as the first
   * version's HTTP log handler did. Never set outside tests.
   */
  syncLogShipping?: boolean;
}

export interface TelemetryDrops {
  spans: number;
  logs: number;
  metrics: number;
}

export interface Telemetry {
  /** False when OTEL_SDK_DISABLED=true (the watchdog still runs). */
  readonly enabled: boolean;
  /** Where each signal goes, for server_diagnostics: `otlp http/protobuf <url>`, `file <dir>` or `none`. */
  readonly destinations: { traces: string; metrics: string; logs: string };
  /** The event-loop watchdog; `watchdog.snapshot()` feeds server_diagnostics. */
  readonly watchdog: LoopWatchdog;
  /** Spans, log records and metric points dropped so far (queue full, export failed, or cut off at shutdown). */
  dropped(): TelemetryDrops;
  /** Exports what is queued; resolves by `deadlineMs` (default 2 000) whatever the exporters do. */
  forceFlush(deadlineMs?: number): Promise<void>;
  /**
   * Stops the watchdog and instrumentations, flushes and shuts the SDK down. Resolves within
   * `deadlineMs` even when the collector hangs: at the deadline the exporters' sockets are
   * destroyed and whatever is still queued counts as dropped. Idempotent.
   */
  shutdown(deadlineMs: number): Promise<void>;
}

const DEFAULT_FLUSH_DEADLINE_MS = DEFAULTS.TELEMETRY_FLUSH_DEADLINE_MS;

let running: Telemetry | undefined;

function buildSampler(s: TelemetryConfig['sampler']): Sampler {
  switch (s.name) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return new TraceIdRatioBasedSampler(s.ratio);
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(s.ratio) });
    case 'parentbased_always_on':
    default: return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function buildPropagator(names: TelemetryConfig['propagators']): TextMapPropagator | undefined {
  const all = names.map((n) => (n === 'tracecontext' ? new W3CTraceContextPropagator() : new W3CBaggagePropagator()));
  if (all.length === 0) return undefined;
  return all.length === 1 ? all[0] : new CompositePropagator({ propagators: all });
}

function describe(target: SignalTarget, dir: string, replaced: boolean): string {
  if (replaced) return 'custom exporter';
  if (target.kind === 'otlp') return `otlp ${target.protocol} ${target.url}`;
  return target.kind === 'file' ? `file ${dir}` : 'none';
}

function deadline(ms: number): { promise: Promise<'deadline'>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'deadline'>((resolve) => { timer = setTimeout(resolve, Math.max(0, ms), 'deadline'); });
  return { promise, clear: () => clearTimeout(timer) };
}

/**
 * Starts telemetry. Call it first thing in main, before the app creates clients or does
 * any network I/O (undici requests started earlier are not traced). Throws SB_ERR_CONFIG
 * on an invalid OTEL_* / SECOND_BRAIN_* setting, and if telemetry is already running.
 *
 * @example
 * const telemetry = startTelemetry({ home: config.home, serviceVersion: '0.1.0', registry: app.inflight });
 * // … on SIGTERM:
 * await telemetry.shutdown(DEFAULTS.SHUTDOWN_GRACE_MS);
 */
export function startTelemetry(options: StartTelemetryOptions): Telemetry {
  if (running) throw new SbError(ErrorCode.CONFIG, 'Failed to start telemetry: it is already running in this process. Call shutdown() first.');
  const env = options.env ?? process.env;
  const config = readTelemetryConfig(env, options.home);
  setCaptureContent(config.captureContent);

  const drops = new DropCounters();
  const tracker = new ActiveSpanTracker();
  const profiler = config.profileOnStall ? new StallProfiler(join(config.files.dir, 'profiles')) : undefined;
  const watchdog = new LoopWatchdog({
    thresholdMs: options.loopStallThresholdMs,
    registry: options.registry,
    activeSpans: () => tracker.active(),
    onStall: () => {
      countLoopStall();
      void profiler?.capture();
    },
    onQuietTick: profiler ? () => profiler.rotate() : undefined,
  });

  const cleanups: Array<() => void> = [];
  let tracerProvider: TracerProvider | undefined;
  let meterProvider: MeterProvider | undefined;
  let loggerProvider: LoggerProvider | undefined;
  let spanProcessor: BoundedBatchSpanProcessor | undefined;
  let logProcessor: BoundedBatchLogRecordProcessor | undefined;
  let metricExporter: ReturnType<typeof countingMetricExporter> | undefined;
  let instrumentations: Instrumentations | undefined;
  const agents = new ExporterAgents();
  const dir = config.files.dir;

  let undoDiagnostics: (() => void) | undefined;
  if (!config.disabled) {
    undoDiagnostics = installDiagnostics(config.diagLevel);
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    const propagator = buildPropagator(config.propagators);
    if (propagator) propagation.setGlobalPropagator(propagator);

    const resource = defaultResource().merge(resourceFromAttributes({
      [ATTR_SERVICE_VERSION]: options.serviceVersion,
      [ATTR_SERVICE_INSTANCE_ID]: randomUUID(),
      [ATTR_PROCESS_PID]: process.pid,
      [ATTR_PROCESS_RUNTIME_NAME]: 'nodejs',
      [ATTR_PROCESS_RUNTIME_VERSION]: process.versions.node,
      ...config.resourceAttributes,
      [ATTR_SERVICE_NAME]: config.serviceName,
    }));
    const fileOptions = {
      dir,
      maxFileBytes: config.files.maxFileBytes,
      maxFiles: config.files.maxFiles,
      maxBufferBytes: config.files.maxBufferBytes,
      // Rate-limited by the diag logger; the lost lines are already counted as drops.
      onError: (err: Error) => diag.warn(`local telemetry file write failed: ${err.message}`),
    };

    if (config.traces.kind !== 'none') {
      const exporter = options.exporters?.spans
        ?? (config.traces.kind === 'otlp' ? otlpSpanExporter(config.traces, agents) : new FileSpanExporter(fileOptions));
      spanProcessor = new BoundedBatchSpanProcessor(exporter, config.spanBatch, drops);
      tracerProvider = new TracerProvider({
        resource,
        sampler: buildSampler(config.sampler),
        spanProcessors: [tracker, new SpanLogProcessor(), spanProcessor],
      });
      trace.setGlobalTracerProvider(tracerProvider);
    }

    if (config.metrics.kind !== 'none') {
      const exporter = options.exporters?.metrics
        ?? (config.metrics.kind === 'otlp' ? otlpMetricExporter(config.metrics, agents) : new FileMetricExporter(fileOptions));
      metricExporter = countingMetricExporter(exporter, drops);
      const reader = new PeriodicExportingMetricReader({
        exporter: metricExporter,
        exportIntervalMillis: config.metricIntervalMs,
        exportTimeoutMillis: config.metricTimeoutMs,
      });
      meterProvider = new MeterProvider({ resource, readers: [reader] });
      metrics.setGlobalMeterProvider(meterProvider);
      cleanups.push(bindMetrics(meterProvider.getMeter(TRACER_NAME, options.serviceVersion), {
        registry: options.registry,
        drops: () => drops,
        stderrDropped: droppedLogCount,
      }));
    }

    if (config.logs.kind !== 'none') {
      const exporter = options.exporters?.logs
        ?? (config.logs.kind === 'otlp' ? otlpLogExporter(config.logs, agents) : new FileLogRecordExporter(fileOptions));
      logProcessor = new BoundedBatchLogRecordProcessor(exporter, config.logBatch, drops);
      loggerProvider = new LoggerProvider({
        resource,
        processors: [logProcessor],
        logRecordLimits: { attributeValueLengthLimit: 4_096, attributeCountLimit: 64 },
      });
      logs.setGlobalLoggerProvider(loggerProvider);
      cleanups.push(bridgeLogs(loggerProvider.getLogger(TRACER_NAME, options.serviceVersion)));
      if (options.syncLogShipping && config.logs.kind === 'otlp') cleanups.push(syncLogShipper(config.logs.url, config.logs.timeoutMs));
    }

    try {
      instrumentations = enableInstrumentations(tracerProvider, meterProvider);
    } catch (err) {
      // Upstream requests then go untraced, but the server and its own spans still work.
      diag.warn(`instrumentations not enabled: ${(err as Error).message}`);
    }
  }

  watchdog.start();
  profiler?.start();

  let shuttingDown: Promise<void> | undefined;
  const providers = () => [tracerProvider, loggerProvider, meterProvider].filter((p) => p !== undefined);

  const telemetry: Telemetry = {
    enabled: !config.disabled,
    destinations: {
      traces: config.disabled ? 'none' : describe(config.traces, dir, !!options.exporters?.spans),
      metrics: config.disabled ? 'none' : describe(config.metrics, dir, !!options.exporters?.metrics),
      logs: config.disabled ? 'none' : describe(config.logs, dir, !!options.exporters?.logs),
    },
    watchdog,
    dropped: () => ({ spans: drops.spans, logs: drops.logs, metrics: drops.metrics }),

    async forceFlush(deadlineMs = DEFAULT_FLUSH_DEADLINE_MS) {
      const d = deadline(deadlineMs);
      try {
        await Promise.race([Promise.allSettled(providers().map((p) => p.forceFlush())), d.promise]);
      } finally {
        d.clear();
      }
    },

    shutdown(deadlineMs: number) {
      shuttingDown ??= (async () => {
        watchdog.stop();
        profiler?.stop();
        // Stop producing first (log bridge, metric functions), then drain.
        for (const undo of cleanups.splice(0).reverse()) {
          try { undo(); } catch { /* keep shutting down */ }
        }
        const d = deadline(deadlineMs);
        const work = Promise.allSettled(providers().map((p) => p.shutdown()));
        const outcome = await Promise.race([work.then(() => 'done' as const), d.promise]);
        d.clear();
        // Instrumentations stay on until the providers are down: the runtime metrics are
        // observed in the final collection.
        instrumentations?.disable();
        if (outcome === 'deadline') {
          // KI-21: a hung collector must not hold shutdown. Cut the sockets; what was not
          // delivered is dropped, and counted.
          spanProcessor?.abandon();
          logProcessor?.abandon();
          metricExporter?.abandon();
          agents.closeAll();
        }
        if (!config.disabled) {
          // Release the globals so that later calls are cheap no-ops (and a restart works).
          trace.disable();
          metrics.disable();
          logs.disable();
          propagation.disable();
          context.disable();
          undoDiagnostics?.();
        }
        setCaptureContent(undefined);
        if (running === telemetry) running = undefined;
      })();
      return shuttingDown;
    },
  };
  running = telemetry;
  return telemetry;
}

