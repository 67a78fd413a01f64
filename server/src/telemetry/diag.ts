/**
 * Where the SDK's own complaints go. The OpenTelemetry diag logger and global error
 * handler default to console.*, and console.info/debug write to stdout, which carries
 * the MCP protocol. Both are routed to the project logger (bounded, non-blocking stderr)
 * instead, rate-limited per message shape: a dead collector fails every export, and one
 * line per failure would be a log storm (KI-09, KI-10).
 */
import { format } from 'node:util';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { loggingErrorHandler, setGlobalErrorHandler } from '@opentelemetry/core';
import { logger } from '../logging/logger.ts';
import { DEFAULTS } from '../config/defaults.ts';

/** `component` value on records the SDK produced; the log bridge never re-exports them (no feedback loop). */
export const OTEL_COMPONENT = 'otel';

const REPORT_INTERVAL_MS = DEFAULTS.OTEL_DIAG_REPORT_INTERVAL_MS;
const MESSAGE_MAX_CHARS = 500;
/** Bound on distinct message shapes tracked; the table is cleared when it is reached. */
const MAX_KEYS = 200;

type Level = 'error' | 'warn' | 'info' | 'debug';

class RateLimitedReporter {
  readonly #seen = new Map<string, { last: number; suppressed: number }>();

  report(level: Level, message: string): void {
    const text = message.length > MESSAGE_MAX_CHARS ? `${message.slice(0, MESSAGE_MAX_CHARS)}…` : message;
    // Numbers vary between otherwise identical messages ("Dropped 12 spans").
    const key = `${level}:${text.slice(0, 80).replace(/\d+/g, '#')}`;
    const now = Date.now();
    const entry = this.#seen.get(key);
    if (entry && now - entry.last < REPORT_INTERVAL_MS) {
      entry.suppressed++;
      return;
    }
    if (!entry && this.#seen.size >= MAX_KEYS) this.#seen.clear();
    const suppressed = entry?.suppressed ?? 0;
    this.#seen.set(key, { last: now, suppressed: 0 });
    try {
      logger()[level]({ component: OTEL_COMPONENT, ...(suppressed ? { suppressed } : {}) }, `telemetry: ${text}`);
    } catch {
      // Logging must never throw into the SDK's export path.
    }
  }
}

const reporter = new RateLimitedReporter();

/**
 * Renders diag arguments cheaply: the SDK passes whole export batches at debug level, and
 * inspecting 512 spans for a log line would itself stall the loop.
 */
function line(args: unknown[]): string {
  return args.map((a) => {
    if (a === null || typeof a !== 'object') return String(a);
    if (a instanceof Error) return `${a.name}: ${a.message}`;
    return Array.isArray(a) ? `[Array(${a.length})]` : '[Object]';
  }).join(' ');
}

function toLogger(): DiagLogger {
  return {
    // SDK errors are about telemetry delivery, not about the server's work: warn.
    error: (...args) => reporter.report('warn', line(args)),
    warn: (...args) => reporter.report('warn', line(args)),
    info: (...args) => reporter.report('info', line(args)),
    debug: (...args) => reporter.report('debug', line(args)),
    verbose: (...args) => reporter.report('debug', line(args)),
  };
}

/** Installs the diag logger and the global error handler. Returns the undo. */
export function installDiagnostics(level: DiagLogLevel): () => void {
  diag.setLogger(toLogger(), { logLevel: level, suppressOverrideMessage: true });
  setGlobalErrorHandler((err) => {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : typeof err === 'string' ? err : format('%o', err).slice(0, MESSAGE_MAX_CHARS);
    reporter.report('warn', `export failed: ${message}`);
  });
  return () => {
    diag.disable();
    setGlobalErrorHandler(loggingErrorHandler());
  };
}

export { DiagLogLevel };
