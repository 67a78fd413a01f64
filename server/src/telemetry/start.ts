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
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
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
import { readTelemetryConfig, setCaptureContent, type Env, type SignalTarget, type TelemetryConfig } from '../config/telemetry.ts';
import { installDiagnostics } from './diag.ts';
import { FileLogRecordExporter, FileMetricExporter, FileSpanExporter } from './file-exporters.ts';
import type { RotatingJsonlWriterOptions } from './file-writer.ts';
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
   * A second shipper of log records to the OTLP logs endpoint, started beside the logs
   * pipeline with its URL and timeout; returns its remover. None in production: the
   * seam where the `blocking-telemetry-export` test defect (KI-09, KI-21) puts back the
   * first version's synchronous HTTP log handler (defects/sync-log-shipper.ts).
   */
  logShipper?: LogShipper;
}

export type LogShipper = (url: string, timeoutMs: number) => () => void;

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

/** Stage 1: the loop watchdog, the in-flight span tracker and the stall profiler (they run even with the SDK disabled). */
function startLoopWatch(config: TelemetryConfig, options: StartTelemetryOptions): { tracker: ActiveSpanTracker; profiler?: StallProfiler; watchdog: LoopWatchdog } {
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
  return { tracker, profiler, watchdog };
}

/** Stage 2: the API globals (diag logger, context manager, propagators); returns the undo. */
function installGlobals(config: TelemetryConfig): () => void {
  const undoDiagnostics = installDiagnostics(config.diagLevel);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const propagator = buildPropagator(config.propagators);
  if (propagator) propagation.setGlobalPropagator(propagator);
  return () => {
    // Release the globals so that later calls are cheap no-ops (and a restart works).
    trace.disable();
    metrics.disable();
    logs.disable();
    propagation.disable();
    context.disable();
    undoDiagnostics();
  };
}

function buildResource(config: TelemetryConfig, serviceVersion: string): Resource {
  return defaultResource().merge(resourceFromAttributes({
    [ATTR_SERVICE_VERSION]: serviceVersion,
    [ATTR_SERVICE_INSTANCE_ID]: randomUUID(),
    [ATTR_PROCESS_PID]: process.pid,
    [ATTR_PROCESS_RUNTIME_NAME]: 'nodejs',
    [ATTR_PROCESS_RUNTIME_VERSION]: process.versions.node,
    ...config.resourceAttributes,
    [ATTR_SERVICE_NAME]: config.serviceName,
  }));
}

/** What the signal stages share: settings, resource, drop counters, sockets, and the undo list. */
interface SignalContext {
  config: TelemetryConfig;
  options: StartTelemetryOptions;
  resource: Resource;
  drops: DropCounters;
  agents: ExporterAgents;
  fileOptions: Omit<RotatingJsonlWriterOptions, 'prefix'>;
  cleanups: Array<() => void>;
}

/** The parts a running pipeline keeps, for flushing, shutting down and cutting off. */
interface Pipelines {
  tracerProvider?: TracerProvider;
  meterProvider?: MeterProvider;
  loggerProvider?: LoggerProvider;
  spanProcessor?: BoundedBatchSpanProcessor;
  logProcessor?: BoundedBatchLogRecordProcessor;
  metricExporter?: ReturnType<typeof countingMetricExporter>;
  instrumentations?: Instrumentations;
}

/** Stage 3a: traces, through the tracker, the span log and the bounded processor. */
function startTraces(c: SignalContext, tracker: ActiveSpanTracker, out: Pipelines): void {
  if (c.config.traces.kind === 'none') return;
  const exporter = c.options.exporters?.spans
    ?? (c.config.traces.kind === 'otlp' ? otlpSpanExporter(c.config.traces, c.agents) : new FileSpanExporter(c.fileOptions));
  out.spanProcessor = new BoundedBatchSpanProcessor(exporter, c.config.spanBatch, c.drops);
  out.tracerProvider = new TracerProvider({
    resource: c.resource,
    sampler: buildSampler(c.config.sampler),
    spanProcessors: [tracker, new SpanLogProcessor(), out.spanProcessor],
  });
  trace.setGlobalTracerProvider(out.tracerProvider);
}

/** Stage 3b: metrics, exported periodically and counted. */
function startMetrics(c: SignalContext, out: Pipelines): void {
  if (c.config.metrics.kind === 'none') return;
  const exporter = c.options.exporters?.metrics
    ?? (c.config.metrics.kind === 'otlp' ? otlpMetricExporter(c.config.metrics, c.agents) : new FileMetricExporter(c.fileOptions));
  out.metricExporter = countingMetricExporter(exporter, c.drops);
  const reader = new PeriodicExportingMetricReader({
    exporter: out.metricExporter,
    exportIntervalMillis: c.config.metricIntervalMs,
    exportTimeoutMillis: c.config.metricTimeoutMs,
  });
  out.meterProvider = new MeterProvider({ resource: c.resource, readers: [reader] });
  metrics.setGlobalMeterProvider(out.meterProvider);
  c.cleanups.push(bindMetrics(out.meterProvider.getMeter(TRACER_NAME, c.options.serviceVersion), {
    registry: c.options.registry,
    drops: () => c.drops,
    stderrDropped: droppedLogCount,
  }));
}

/** Stage 3c: logs, bridged from the logger into the bounded processor. */
function startLogs(c: SignalContext, out: Pipelines): void {
  if (c.config.logs.kind === 'none') return;
  const exporter = c.options.exporters?.logs
    ?? (c.config.logs.kind === 'otlp' ? otlpLogExporter(c.config.logs, c.agents) : new FileLogRecordExporter(c.fileOptions));
  out.logProcessor = new BoundedBatchLogRecordProcessor(exporter, c.config.logBatch, c.drops);
  out.loggerProvider = new LoggerProvider({
    resource: c.resource,
    processors: [out.logProcessor],
    logRecordLimits: { attributeValueLengthLimit: 4_096, attributeCountLimit: 64 },
  });
  logs.setGlobalLoggerProvider(out.loggerProvider);
  c.cleanups.push(bridgeLogs(out.loggerProvider.getLogger(TRACER_NAME, c.options.serviceVersion)));
  if (c.options.logShipper && c.config.logs.kind === 'otlp') c.cleanups.push(c.options.logShipper(c.config.logs.url, c.config.logs.timeoutMs));
}

/** Stage 4: the undici instrumentation (upstream requests then go untraced if it fails, but the server's own spans still work). */
function startInstrumentations(out: Pipelines): void {
  try {
    out.instrumentations = enableInstrumentations(out.tracerProvider, out.meterProvider);
  } catch (err) {
    diag.warn(`instrumentations not enabled: ${(err as Error).message}`);
  }
}

/**
 * Starts telemetry. Call it first thing in main, before the app creates clients or does
 * any network I/O (undici requests started earlier are not traced). Throws SB_ERR_CONFIG
 * on an invalid OTEL_* / SECOND_BRAIN_* setting, and if telemetry is already running.
 * Stages: watch the loop → install the API globals → start each signal's pipeline →
 * instrument undici; shutdown runs them backwards.
 *
 * @example
 * const telemetry = startTelemetry({ home: config.home, serviceVersion: '0.1.0', registry: app.inflight });
 * // … on SIGTERM:
 * await telemetry.shutdown(DEFAULTS.SHUTDOWN_GRACE_MS);
 */
export function startTelemetry(options: StartTelemetryOptions): Telemetry {
  if (running) throw new SbError(ErrorCode.CONFIG, 'Failed to start telemetry: it is already running in this process. Call shutdown() first.');
  const config = readTelemetryConfig(options.env, options.home);
  setCaptureContent(config.captureContent);

  const { tracker, profiler, watchdog } = startLoopWatch(config, options);
  const drops = new DropCounters();
  const agents = new ExporterAgents();
  const cleanups: Array<() => void> = [];
  const pipes: Pipelines = {};
  const dir = config.files.dir;
  let undoGlobals: (() => void) | undefined;
  if (!config.disabled) {
    undoGlobals = installGlobals(config);
    const c: SignalContext = {
      config, options, drops, agents, cleanups,
      resource: buildResource(config, options.serviceVersion),
      fileOptions: {
        dir,
        maxFileBytes: config.files.maxFileBytes,
        maxFiles: config.files.maxFiles,
        maxBufferBytes: config.files.maxBufferBytes,
        // Rate-limited by the diag logger; the lost lines are already counted as drops.
        onError: (err: Error) => diag.warn(`local telemetry file write failed: ${err.message}`),
      },
    };
    startTraces(c, tracker, pipes);
    startMetrics(c, pipes);
    startLogs(c, pipes);
    startInstrumentations(pipes);
  }

  watchdog.start();
  profiler?.start();

  let shuttingDown: Promise<void> | undefined;
  const providers = () => [pipes.tracerProvider, pipes.loggerProvider, pipes.meterProvider].filter((p) => p !== undefined);

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
        pipes.instrumentations?.disable();
        if (outcome === 'deadline') {
          // KI-21: a hung collector must not hold shutdown. Cut the sockets; what was not
          // delivered is dropped, and counted.
          pipes.spanProcessor?.abandon();
          pipes.logProcessor?.abandon();
          pipes.metricExporter?.abandon();
          agents.closeAll();
        }
        undoGlobals?.();
        setCaptureContent(undefined);
        if (running === telemetry) running = undefined;
      })();
      return shuttingDown;
    },
  };
  running = telemetry;
  return telemetry;
}
