/**
 * Bounded, counted export paths (KI-09, KI-21).
 *
 * The SDK's batch processors already drop when their queue is full, but they only say so
 * through a diag line. These wrappers keep the bound themselves (so the count is exact),
 * count every span, log record and metric point that is refused or whose export fails,
 * and make those counts visible to `dropped()`, server_diagnostics and the
 * `second_brain.*.dropped` metrics. Spans are redacted on their way to the exporter.
 */
import { TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace';
import {
  BatchLogRecordProcessor, type LogRecordExporter, type LogRecordProcessor, type ReadableLogRecord, type ReadWriteLogRecord,
} from '@opentelemetry/sdk-logs';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { BatchSettings } from './config.ts';
import { redactSpan } from './redaction.ts';

/** Grace the SDK processor gives the exporter beyond the exporter's own request timeout. */
const PROCESSOR_TIMEOUT_SLACK_MS = 1_000;

/** Running drop counts, by signal and reason. */
export class DropCounters {
  spansQueueFull = 0;
  spansExportFailed = 0;
  logsQueueFull = 0;
  logsExportFailed = 0;
  metricPointsExportFailed = 0;

  get spans(): number { return this.spansQueueFull + this.spansExportFailed; }
  get logs(): number { return this.logsQueueFull + this.logsExportFailed; }
  get metrics(): number { return this.metricPointsExportFailed; }
}

function failed(result: ExportResult): boolean {
  return result.code !== ExportResultCode.SUCCESS;
}

/** A BatchSpanProcessor with an exact queue bound, drop counting and redaction. */
export class BoundedBatchSpanProcessor implements SpanProcessor {
  readonly #inner: BatchSpanProcessor;
  readonly #max: number;
  readonly #drops: DropCounters;
  #queued = 0;
  #inFlight = 0;
  #abandoned = false;

  constructor(exporter: SpanExporter, settings: BatchSettings, drops: DropCounters) {
    this.#max = settings.maxQueueSize;
    this.#drops = drops;
    const counting: SpanExporter = {
      export: (spans: ReadableSpan[], done: (r: ExportResult) => void) => {
        this.#queued = Math.max(0, this.#queued - spans.length);
        let safe: ReadableSpan[];
        try {
          safe = spans.map(redactSpan);
        } catch (error) {
          // Never export what could not be checked for secrets.
          if (!this.#abandoned) drops.spansExportFailed += spans.length;
          done({ code: ExportResultCode.FAILED, error: error as Error });
          return;
        }
        this.#inFlight += spans.length;
        exporter.export(safe, (result) => {
          this.#inFlight -= spans.length;
          if (failed(result) && !this.#abandoned) drops.spansExportFailed += spans.length;
          done(result);
        });
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
    this.#inner = new BatchSpanProcessor({
      exporter: counting,
      maxQueueSize: settings.maxQueueSize,
      maxExportBatchSize: settings.maxExportBatchSize,
      scheduledDelayMillis: settings.scheduledDelayMs,
      exportTimeoutMillis: settings.exportTimeoutMs + PROCESSOR_TIMEOUT_SLACK_MS,
    });
  }

  /** Spans waiting for export. */
  get queued(): number { return this.#queued; }

  /**
   * Gives up on everything queued or being exported (shutdown deadline passed): counts it
   * as dropped now, and ignores the late outcomes of those exports.
   */
  abandon(): void {
    if (this.#abandoned) return;
    this.#abandoned = true;
    this.#drops.spansExportFailed += this.#queued + this.#inFlight;
  }

  onStart(span: Span, parentContext: Context): void {
    this.#inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queued >= this.#max) {
      this.#drops.spansQueueFull++;
      return;
    }
    this.#queued++;
    this.#inner.onEnd(span);
  }

  forceFlush(): Promise<void> { return this.#inner.forceFlush(); }
  shutdown(): Promise<void> { return this.#inner.shutdown(); }
}

/**
 * A BatchLogRecordProcessor with an exact queue bound and drop counting. Log records are
 * not redacted here: the only source is the log bridge, whose records the project logger
 * has already redacted.
 */
export class BoundedBatchLogRecordProcessor implements LogRecordProcessor {
  readonly #inner: BatchLogRecordProcessor;
  readonly #max: number;
  readonly #drops: DropCounters;
  #queued = 0;
  #inFlight = 0;
  #abandoned = false;

  constructor(exporter: LogRecordExporter, settings: BatchSettings, drops: DropCounters) {
    this.#max = settings.maxQueueSize;
    this.#drops = drops;
    const counting: LogRecordExporter = {
      export: (records: ReadableLogRecord[], done: (r: ExportResult) => void) => {
        this.#queued = Math.max(0, this.#queued - records.length);
        this.#inFlight += records.length;
        exporter.export(records, (result) => {
          this.#inFlight -= records.length;
          if (failed(result) && !this.#abandoned) drops.logsExportFailed += records.length;
          done(result);
        });
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush(),
    };
    this.#inner = new BatchLogRecordProcessor({
      exporter: counting,
      maxQueueSize: settings.maxQueueSize,
      maxExportBatchSize: settings.maxExportBatchSize,
      scheduledDelayMillis: settings.scheduledDelayMs,
      exportTimeoutMillis: settings.exportTimeoutMs + PROCESSOR_TIMEOUT_SLACK_MS,
    });
  }

  get queued(): number { return this.#queued; }

  /** As BoundedBatchSpanProcessor.abandon. */
  abandon(): void {
    if (this.#abandoned) return;
    this.#abandoned = true;
    this.#drops.logsExportFailed += this.#queued + this.#inFlight;
  }

  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    if (this.#queued >= this.#max) {
      this.#drops.logsQueueFull++;
      return;
    }
    this.#queued++;
    this.#inner.onEmit(record);
  }

  forceFlush(): Promise<void> { return this.#inner.forceFlush(); }
  shutdown(): Promise<void> { return this.#inner.shutdown(); }
}

function countPoints(rm: ResourceMetrics): number {
  let n = 0;
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

/**
 * Counts the data points of failed metric exports. The exporter's temporality and
 * aggregation preferences pass through only when it has them (the reader checks for them).
 * `abandon()` (shutdown deadline passed) counts the points being exported as dropped.
 */
export function countingMetricExporter(inner: PushMetricExporter, drops: DropCounters): PushMetricExporter & { abandon(): void } {
  let inFlight = 0;
  let abandoned = false;
  const out: PushMetricExporter & { abandon(): void } = {
    export(metrics: ResourceMetrics, done: (r: ExportResult) => void): void {
      const points = countPoints(metrics);
      inFlight += points;
      inner.export(metrics, (result) => {
        inFlight -= points;
        if (failed(result) && !abandoned) drops.metricPointsExportFailed += points;
        done(result);
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    abandon() {
      if (abandoned) return;
      abandoned = true;
      drops.metricPointsExportFailed += inFlight;
    },
  };
  if (inner.selectAggregationTemporality) out.selectAggregationTemporality = inner.selectAggregationTemporality.bind(inner);
  if (inner.selectAggregation) out.selectAggregation = inner.selectAggregation.bind(inner);
  return out;
}
