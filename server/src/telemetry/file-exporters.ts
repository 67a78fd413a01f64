/**
 * The embedded default when no collector is configured: each export request becomes one
 * line of OTLP JSON in `<home>/telemetry/{traces,metrics,logs}-*.jsonl`.
 *
 * The lines are produced by @opentelemetry/otlp-transformer's JSON serializers, the same
 * bytes the OTLP/HTTP JSON exporter would POST, so the files can be replayed into a
 * collector with its `otlp_json_file` receiver (one ExportRequest per line is that
 * receiver's format) and read back by `second-brain traces`.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonLogsSerializer, JsonMetricsSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord, LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { RotatingJsonlWriter, type RotatingJsonlWriterOptions } from './file-writer.ts';

/** File name prefixes, one per signal. */
export const FILE_PREFIX = { traces: 'traces', metrics: 'metrics', logs: 'logs' } as const;

type Serialize<T> = (items: T) => Uint8Array | undefined;

function exportTo<T>(writer: RotatingJsonlWriter, serialize: Serialize<T>, items: T, done: (r: ExportResult) => void): void {
  let ok: boolean;
  let error: Error | undefined;
  try {
    const bytes = serialize(items);
    ok = bytes === undefined || writer.write(bytes);
    if (!ok) error = new Error('local telemetry file buffer is full');
  } catch (err) {
    ok = false;
    error = err as Error;
  }
  // Success means "queued for the file": the processor must not wait on the disk.
  done(ok ? { code: ExportResultCode.SUCCESS } : { code: ExportResultCode.FAILED, error });
}

export class FileSpanExporter implements SpanExporter {
  readonly writer: RotatingJsonlWriter;
  constructor(options: Omit<RotatingJsonlWriterOptions, 'prefix'>) {
    this.writer = new RotatingJsonlWriter({ ...options, prefix: FILE_PREFIX.traces });
  }
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    exportTo(this.writer, (s) => JsonTraceSerializer.serializeRequest(s), spans, done);
  }
  forceFlush(): Promise<void> { return this.writer.flush(); }
  shutdown(): Promise<void> { return this.writer.close(); }
}

export class FileLogRecordExporter implements LogRecordExporter {
  readonly writer: RotatingJsonlWriter;
  constructor(options: Omit<RotatingJsonlWriterOptions, 'prefix'>) {
    this.writer = new RotatingJsonlWriter({ ...options, prefix: FILE_PREFIX.logs });
  }
  export(records: ReadableLogRecord[], done: (r: ExportResult) => void): void {
    exportTo(this.writer, (r) => JsonLogsSerializer.serializeRequest(r), records, done);
  }
  forceFlush(): Promise<void> { return this.writer.flush(); }
  shutdown(): Promise<void> { return this.writer.close(); }
}

export class FileMetricExporter implements PushMetricExporter {
  readonly writer: RotatingJsonlWriter;
  constructor(options: Omit<RotatingJsonlWriterOptions, 'prefix'>) {
    this.writer = new RotatingJsonlWriter({ ...options, prefix: FILE_PREFIX.metrics });
  }
  export(metrics: ResourceMetrics, done: (r: ExportResult) => void): void {
    exportTo(this.writer, (m) => JsonMetricsSerializer.serializeRequest(m), metrics, done);
  }
  forceFlush(): Promise<void> { return this.writer.flush(); }
  shutdown(): Promise<void> { return this.writer.close(); }
}
