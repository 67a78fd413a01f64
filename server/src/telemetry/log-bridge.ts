/**
 * Bridges the project logger into OpenTelemetry logs. Each pino record (already redacted)
 * becomes a LogRecord on the caller's active context, so log lines carry the trace and
 * span ids of the operation that wrote them. The sink only hands the record to the
 * bounded batch processor: it never does I/O and never waits (KI-09).
 */
import { SeverityNumber, type AnyValue, type Attributes, type Logger } from '@opentelemetry/api';
import { addLogSink } from '../logging/logger.ts';
import { OTEL_COMPONENT } from './diag.ts';
import { ATTR_EXCEPTION_MESSAGE, ATTR_EXCEPTION_STACKTRACE, ATTR_EXCEPTION_TYPE } from './semconv.ts';

/** Fields that are the record's envelope, not its attributes (the resource carries service and pid). */
const ENVELOPE = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'v']);
/** Nested values longer than this (as JSON) are cut: one log line must not become a megabyte attribute. */
const ATTRIBUTE_MAX_CHARS = 4_096;

const SEVERITY: Array<[number, SeverityNumber, string]> = [
  [60, SeverityNumber.FATAL, 'FATAL'],
  [50, SeverityNumber.ERROR, 'ERROR'],
  [40, SeverityNumber.WARN, 'WARN'],
  [30, SeverityNumber.INFO, 'INFO'],
  [20, SeverityNumber.DEBUG, 'DEBUG'],
  [0, SeverityNumber.TRACE, 'TRACE'],
];

function severity(level: unknown): [SeverityNumber, string] {
  const n = typeof level === 'number' ? level : 30;
  for (const [min, num, text] of SEVERITY) if (n >= min) return [num, text];
  return [SeverityNumber.TRACE, 'TRACE'];
}

function attributeValue(v: unknown): AnyValue | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v.length > ATTRIBUTE_MAX_CHARS ? `${v.slice(0, ATTRIBUTE_MAX_CHARS)}…` : v;
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  const json = JSON.stringify(v);
  return json.length > ATTRIBUTE_MAX_CHARS ? `${json.slice(0, ATTRIBUTE_MAX_CHARS)}…` : json;
}

/** Turns one pino record into OTel log fields. Exported for tests. */
export function toLogRecord(rec: Record<string, unknown>): { severityNumber: SeverityNumber; severityText: string; body: string; timestamp?: number; attributes: Attributes } {
  const [severityNumber, severityText] = severity(rec.level);
  const attributes: Attributes = {};
  for (const [k, v] of Object.entries(rec)) {
    if (ENVELOPE.has(k)) continue;
    if (k === 'err' && v && typeof v === 'object') {
      const e = v as { type?: string; message?: string; stack?: string };
      if (e.type) attributes[ATTR_EXCEPTION_TYPE] = e.type;
      if (e.message) attributes[ATTR_EXCEPTION_MESSAGE] = String(attributeValue(e.message));
      if (e.stack) attributes[ATTR_EXCEPTION_STACKTRACE] = String(attributeValue(e.stack));
      continue;
    }
    const value = attributeValue(v);
    if (value !== undefined) attributes[k] = value;
  }
  const ts = typeof rec.time === 'string' ? Date.parse(rec.time) : typeof rec.time === 'number' ? rec.time : NaN;
  return {
    severityNumber, severityText,
    body: typeof rec.msg === 'string' ? rec.msg : '',
    ...(Number.isFinite(ts) ? { timestamp: ts } : {}),
    attributes,
  };
}

/** Starts bridging; returns the remover. */
export function bridgeLogs(otelLogger: Logger): () => void {
  return addLogSink((rec) => {
    // The SDK's own diagnostics stay on stderr: exporting them could loop (a failing export logs, the log is exported, …).
    if (rec.component === OTEL_COMPONENT) return;
    otelLogger.emit(toLogRecord(rec));
  });
}
