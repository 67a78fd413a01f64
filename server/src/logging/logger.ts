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

/** Log records dropped because the stderr buffer was full, or a sink threw. */
export function droppedLogCount(): number {
  return dropped + (writer?.dropped ?? 0);
}

export const REDACT_PATHS = [
  'apiKey', '*.apiKey', 'api_key', '*.api_key', 'authorization', '*.authorization',
  'headers.authorization', '*.headers.authorization', 'headers["x-api-key"]', 'key', '*.key',
];

/** Creates the process logger. `level` defaults to SECOND_BRAIN_LOG_LEVEL or `info`. */
export function createLogger(options: { level?: string; destination?: { write(s: string): unknown } } = {}): Logger {
  const level = options.level ?? process.env.SECOND_BRAIN_LOG_LEVEL ?? 'info';
  let dest = options.destination;
  if (!dest) {
    writer ??= new StderrWriter({ maxBufferBytes: DEFAULTS.LOG_BUFFER_MAX_BYTES });
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
    base: { service: 'second-brain', pid: process.pid },
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
