/**
 * Structured logging (pino) to stderr through the bounded non-blocking writer. stdout is
 * the MCP channel and is never written here. API keys and authorization headers are
 * redacted by key name and by value pattern.
 *
 * Sinks (e.g. the OpenTelemetry log bridge) receive each record object after redaction;
 * a sink must not block and must bound its own queue.
 */
import pino, { type Logger as PinoLogger } from 'pino';
import { DEFAULTS } from '../config/defaults.ts';
import { StderrWriter } from './stderr-writer.ts';
import { redactString } from './redact.ts';

export type Logger = PinoLogger;
export type LogSink = (record: Record<string, unknown>) => void;

const sinks = new Set<LogSink>();
let writer: StderrWriter | undefined;
let dropped = 0;

/** Adds a sink that receives every emitted record; returns a remover. */
export function addLogSink(sink: LogSink): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

/** The stderr buffer now: bytes waiting, the most it held, and its bound (undefined before the first log line). */
export function logBufferStats(): { pending_bytes: number; max_pending_bytes: number } | undefined {
  return writer ? { pending_bytes: writer.pendingBytes, max_pending_bytes: writer.maxPendingBytes } : undefined;
}

/** Log records dropped because the stderr buffer was full, or a sink threw. */
export function droppedLogCount(): number {
  return dropped + (writer?.dropped ?? 0);
}

export const REDACT_PATHS = [
  'apiKey', '*.apiKey', 'api_key', '*.api_key', 'authorization', '*.authorization',
  'headers.authorization', '*.headers.authorization', 'headers["x-api-key"]', 'key', '*.key',
];

export interface CreateLoggerOptions {
  /** Default `info`; the server passes its configured SECOND_BRAIN_LOG_LEVEL (config/env.ts). */
  level?: string;
  /**
   * Replaces the bounded stderr writer (tests; and the seam where the `sync-stderr-logger`
   * test defect, KI-10, puts back pino's synchronous fd 2: defects/sync-stderr.ts).
   */
  destination?: { write(s: string): unknown };
  /** Bytes held while stderr does not accept data; past it records are dropped and counted. Default DEFAULTS.LOG_BUFFER_MAX_BYTES; the server passes its configured SECOND_BRAIN_LOG_BUFFER_BYTES. */
  maxBufferBytes?: number;
}

const BASE_FIELDS = { service: 'second-brain', pid: process.pid } as const;

function withoutBaseKeys(obj: Record<string, unknown>): Record<string, unknown> {
  if (!('pid' in obj) && !('service' in obj)) return obj;
  const { pid, service, ...rest } = obj;
  if (pid !== undefined && pid !== BASE_FIELDS.pid) rest.subject_pid = pid;
  if (service !== undefined && service !== BASE_FIELDS.service) rest.subject_service = service;
  return rest;
}

/** Creates the process logger. `level` defaults to `info`. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  let dest = options.destination;
  if (!dest) {
    writer ??= new StderrWriter({ maxBufferBytes: options.maxBufferBytes ?? DEFAULTS.LOG_BUFFER_MAX_BYTES });
    dest = writer;
  }
  const target = dest;
  const stream = {
    write(line: string) {
      const safe = redactString(line);
      target.write(safe);
      if (sinks.size === 0) return;
      let rec: Record<string, unknown>;
      try { rec = JSON.parse(safe); } catch { return; }
      for (const s of sinks) {
        try { s(rec); } catch { dropped++; }
      }
    },
  };
  return pino({
    level,
    base: BASE_FIELDS,
    // pino writes the base fields and then the call's own fields as they are, so a call that
    // logs `pid` (or `service`) would print the key twice. The base owns them; a different
    // value is kept under another name.
    formatters: { log: withoutBaseKeys },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, stream);
}

/** Flushes what the stderr writer can take right now (shutdown). */
export function flushLogs(): void {
  writer?.flushSync();
}

let root: Logger | undefined;
/** The process-wide logger, created on first use. */
export function logger(): Logger {
  root ??= createLogger();
  return root;
}

/** Replaces the process-wide logger (tests, or main with a chosen level). */
export function setLogger(l: Logger): void {
  root = l;
}
