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
import type { BatchSettings } from '../config/telemetry.ts';
import { redactSpan } from './redaction.ts';
import { DEFAULTS } from '../config/defaults.ts';

const PROCESSOR_TIMEOUT_SLACK_MS = DEFAULTS.OTEL_PROCESSOR_TIMEOUT_SLACK_MS;

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

/**
 * Queue and in-flight accounting shared by the bounded batch processors: admits records up
 * to an exact bound, counts refusals and failed exports once, and on `abandon()` counts
 * everything still queued or being exported, ignoring the late outcomes of those exports.
 */
class ExportLedger {
  readonly #max: number;
  readonly #countFull: () => void;
  readonly #countFailed: (n: number) => void;
  #queued = 0;
  #inFlight = 0;
  #abandoned = false;

  constructor(max: number, countFull: () => void, countFailed: (n: number) => void) {
    this.#max = max;
    this.#countFull = countFull;
    this.#countFailed = countFailed;
  }

  get queued(): number { return this.#queued; }

  /** One record offered to the processor: false (and counted) when the queue is full. */
  admit(): boolean {
    if (this.#queued >= this.#max) {
      this.#countFull();
      return false;
    }
    this.#queued++;
    return true;
  }

  /** The processor handed `n` records to the exporter. */
  dequeued(n: number): void { this.#queued = Math.max(0, this.#queued - n); }

  /** Exports `n` records through `run`, counting a failed outcome unless abandoned. */
  export(n: number, run: (finish: (r: ExportResult) => void) => void, done: (r: ExportResult) => void): void {
    this.#inFlight += n;
    run((result) => {
      this.#inFlight -= n;
      if (failed(result)) this.failed(n);
      done(result);
    });
  }

  /** `n` records that will not be exported (and were not yet counted). */
  failed(n: number): void {
    if (!this.#abandoned) this.#countFailed(n);
  }

  abandon(): void {
    if (this.#abandoned) return;
    this.#abandoned = true;
    this.#countFailed(this.#queued + this.#inFlight);
  }
}

/** A BatchSpanProcessor with an exact queue bound, drop counting and redaction. */
export class BoundedBatchSpanProcessor implements SpanProcessor {
  readonly #inner: BatchSpanProcessor;
  readonly #ledger: ExportLedger;

  constructor(exporter: SpanExporter, settings: BatchSettings, drops: DropCounters) {
    const ledger = new ExportLedger(settings.maxQueueSize, () => { drops.spansQueueFull++; }, (n) => { drops.spansExportFailed += n; });
    this.#ledger = ledger;
    const counting: SpanExporter = {
      export: (spans: ReadableSpan[], done: (r: ExportResult) => void) => {
        ledger.dequeued(spans.length);
        let safe: ReadableSpan[];
        try {
          safe = spans.map(redactSpan);
        } catch (error) {
          // Never export what could not be checked for secrets.
          ledger.failed(spans.length);
          done({ code: ExportResultCode.FAILED, error: error as Error });
          return;
        }
        ledger.export(spans.length, (finish) => exporter.export(safe, finish), done);
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
  get queued(): number { return this.#ledger.queued; }

  /**
   * Gives up on everything queued or being exported (shutdown deadline passed): counts it
   * as dropped now, and ignores the late outcomes of those exports.
   */
  abandon(): void { this.#ledger.abandon(); }

  onStart(span: Span, parentContext: Context): void {
    this.#inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#ledger.admit()) this.#inner.onEnd(span);
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
  readonly #ledger: ExportLedger;

  constructor(exporter: LogRecordExporter, settings: BatchSettings, drops: DropCounters) {
    const ledger = new ExportLedger(settings.maxQueueSize, () => { drops.logsQueueFull++; }, (n) => { drops.logsExportFailed += n; });
    this.#ledger = ledger;
    const counting: LogRecordExporter = {
      export: (records: ReadableLogRecord[], done: (r: ExportResult) => void) => {
        ledger.dequeued(records.length);
        ledger.export(records.length, (finish) => exporter.export(records, finish), done);
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

  get queued(): number { return this.#ledger.queued; }

  /** As BoundedBatchSpanProcessor.abandon. */
  abandon(): void { this.#ledger.abandon(); }

  onEmit(record: ReadWriteLogRecord, _context?: Context): void {
    if (this.#ledger.admit()) this.#inner.onEmit(record);
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
