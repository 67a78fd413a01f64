/**
 * `second-brain traces`: read the local telemetry files and show where tool calls spent
 * their time, with no collector and no UI (KI-20).
 *
 *   second-brain traces                 recent slow (≥ 30 s) or failed tool calls
 *   second-brain traces --slow 0        every recent tool call
 *   second-brain traces --failed        failed calls only
 *   second-brain traces show <traceId>  one trace as a tree: durations, status, key
 *                                       attributes and events (retries, cancellation,
 *                                       loop blocked)
 *
 * This prints to stdout: it is a separate command, not the MCP server.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readSpans, type LocalSpan } from '../telemetry/local-traces.ts';

export interface TracesCliOptions {
  /** The server's home; files are read from `<home>/telemetry/`. */
  home: string;
  /** Receives the output, one line per call (no trailing newline). */
  out: (line: string) => void;
}

/** Tool calls at least this long are listed by default. */
export const DEFAULT_SLOW_MS = 30_000;
export const DEFAULT_LIMIT = 20;

const USAGE = `usage:
  second-brain traces [--slow MS] [--failed] [--limit N] [--dir DIR]
  second-brain traces show <traceId> [--dir DIR]

Lists recent tool calls from the local telemetry files (<home>/telemetry/traces-*.jsonl)
that took at least --slow milliseconds (default ${DEFAULT_SLOW_MS}; 0 lists all) or failed.
'show' prints one trace as a tree with durations, status, key attributes and events.
--dir reads another directory of OTLP JSON lines files (e.g. a collector's file exporter).`;

/** Attributes worth a place on a tree line; content capture attributes never are. */
const KEY_ATTRIBUTE = /^(gen_ai\.(?!input\.messages|output\.messages)|second_brain\.|mcp\.session\.id$|error\.type$|http\.request\.method$|http\.response\.status_code$|server\.address$|url\.path$|jsonrpc\.request\.id$)/;
const VALUE_MAX_CHARS = 60;
const EVENT_PREFIX = 'second_brain.';

function isToolCall(s: LocalSpan): boolean {
  return s.attributes['mcp.method.name'] === 'tools/call' || s.name.startsWith('tools/call ');
}

function cmpDesc(a: bigint, b: bigint): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

function durationMs(s: LocalSpan): number {
  return Number(s.endNs - s.startNs) / 1e6;
}

function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

function formatTime(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function isFailed(s: LocalSpan): boolean {
  return s.status.code === 2 || s.attributes['error.type'] !== undefined;
}

function statusText(s: LocalSpan): string {
  if (s.attributes['second_brain.cancelled'] === true) return 'CANCELLED';
  const type = s.attributes['error.type'];
  if (isFailed(s)) return type !== undefined ? `ERROR ${String(type)}` : 'ERROR';
  return 'OK';
}

function value(v: unknown): string {
  const text = Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return text.length > VALUE_MAX_CHARS ? `${text.slice(0, VALUE_MAX_CHARS)}…` : text;
}

function shortKey(key: string): string {
  return key.replace(/^second_brain\./, '').replace(/^gen_ai\./, 'gen_ai.');
}

function attributeList(a: Record<string, unknown>, skip: Set<string> = new Set()): string {
  return Object.entries(a)
    .filter(([k]) => KEY_ATTRIBUTE.test(k) && !skip.has(k))
    .map(([k, v]) => `${shortKey(k)}=${value(v)}`)
    .join(' ');
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length);
}

async function list(dir: string, slowMs: number, failedOnly: boolean, limit: number, out: (s: string) => void): Promise<number> {
  const { spans, files, badLines } = await readSpans(dir, isToolCall);
  if (files === 0) {
    out(`No trace files in ${dir}. Telemetry writes them there when no OTLP endpoint is configured.`);
    return 0;
  }
  // Start times are whole milliseconds (the SDK takes them from Date.now()), so ties are
  // common; the order spans were written in (the order they ended) breaks them.
  const written = new Map(spans.map((s, i) => [s, i]));
  const matching = spans
    .filter((s) => (failedOnly ? isFailed(s) : isFailed(s) || durationMs(s) >= slowMs))
    .sort((a, b) => cmpDesc(a.startNs, b.startNs) || written.get(b)! - written.get(a)!);
  const shown = matching.slice(0, limit);
  const what = failedOnly ? 'failed' : slowMs > 0 ? `slow (≥ ${formatDuration(slowMs)}) or failed` : 'any';
  out(`${spans.length} tool call(s) in ${files} file(s); ${matching.length} match (${what})${matching.length > shown.length ? `, newest ${shown.length} shown` : ''}.`);
  if (badLines) out(`(${badLines} unreadable line(s) skipped)`);
  if (shown.length === 0) return 0;
  out(`${pad('TIME (UTC)', 21)}${pad('TOOL', 22)}${pad('DURATION', 11)}${pad('STATUS', 34)}TRACE ID`);
  for (const s of shown) {
    const tool = String(s.attributes['gen_ai.tool.name'] ?? s.name.replace(/^tools\/call /, ''));
    out(`${pad(formatTime(s.startNs), 21)}${pad(tool, 22)}${pad(formatDuration(durationMs(s)), 11)}${pad(statusText(s), 34)}${s.traceId}`);
  }
  out(`Show one: second-brain traces show <traceId>`);
  return 0;
}

async function show(dir: string, traceId: string, out: (s: string) => void): Promise<number> {
  const wanted = traceId.toLowerCase();
  if (!/^[0-9a-f]{6,32}$/.test(wanted)) {
    out(`"${traceId}" is not a trace id. Use the 32 hex digits from the list (a unique prefix of 6 or more works).`);
    return 2;
  }
  const { spans } = await readSpans(dir, (s) => s.traceId.startsWith(wanted));
  const ids = new Set(spans.map((s) => s.traceId));
  if (ids.size === 0) {
    out(`No spans of trace ${traceId} in ${dir}. Spans are written about a second after they end; files rotate out after ~50 MiB.`);
    return 1;
  }
  if (ids.size > 1) {
    out(`"${traceId}" matches ${ids.size} traces: ${[...ids].slice(0, 5).join(', ')}. Give more digits.`);
    return 2;
  }
  // A span can be written twice if an export was retried; keep one.
  const byId = new Map<string, LocalSpan>();
  for (const s of spans) byId.set(s.spanId, s);
  const all = [...byId.values()];
  const children = new Map<string, LocalSpan[]>();
  const roots: LocalSpan[] = [];
  for (const s of all) {
    if (s.parentSpanId && byId.has(s.parentSpanId)) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else {
      roots.push(s);
    }
  }
  // Millisecond start times tie often; the order spans were written (ended) breaks ties.
  const written = new Map(spans.map((s, i) => [s.spanId, i]));
  const byStart = (a: LocalSpan, b: LocalSpan) => cmpDesc(b.startNs, a.startNs) || written.get(a.spanId)! - written.get(b.spanId)!;
  roots.sort(byStart);
  const t0 = roots.reduce((m, s) => (s.startNs < m ? s.startNs : m), roots[0]!.startNs);
  const tEnd = all.reduce((m, s) => (s.endNs > m ? s.endNs : m), 0n);
  out(`trace ${[...ids][0]} · ${all.length} spans · ${formatDuration(Number(tEnd - t0) / 1e6)} · ${formatTime(t0)}${roots[0]!.service ? ` · ${roots[0]!.service}` : ''}`);

  const offset = (t: bigint) => `+${formatDuration(Number(t - t0) / 1e6)}`;
  const line = (s: LocalSpan, prefix: string, branch: string, childPrefix: string) => {
    const status = statusText(s);
    const http = s.attributes['http.response.status_code'];
    const parts = [`${s.name}`, formatDuration(durationMs(s)), status === 'OK' ? (http !== undefined ? String(http) : '') : status];
    const attrText = attributeList(s.attributes, new Set(['error.type', 'http.response.status_code']));
    out(`${prefix}${branch}${parts.filter(Boolean).join('  ')}${attrText ? `  ${attrText}` : ''}`);
    if (s.status.code === 2 && s.status.message) out(`${childPrefix}  ! ${value(s.status.message)}`);
    const kids = (children.get(s.spanId) ?? []).sort(byStart);
    const events = s.events.filter((e) => e.name.startsWith(EVENT_PREFIX) || e.name === 'exception');
    for (const e of events) {
      const a = Object.entries(e.attributes).map(([k, v]) => `${shortKey(k)}=${value(v)}`).join(' ');
      out(`${childPrefix}${kids.length ? '│ ' : '  '}• ${offset(e.timeNs)} ${e.name}${a ? ` ${a}` : ''}`);
    }
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      line(k, childPrefix, last ? '└─ ' : '├─ ', childPrefix + (last ? '   ' : '│  '));
    });
  };
  for (const r of roots) line(r, '', '', '');
  return 0;
}

/**
 * Runs `second-brain traces …`. Returns the exit code: 0 ok, 1 nothing found, 2 bad usage.
 *
 * @example
 * await runTracesCli(['--slow', '5000'], { home: config.home, out: (s) => process.stdout.write(`${s}\n`) });
 */
export async function runTracesCli(argv: string[], options: TracesCliOptions): Promise<number> {
  const { out } = options;
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        slow: { type: 'string' },
        limit: { type: 'string' },
        failed: { type: 'boolean' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    out(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) { out(USAGE); return 0; }
  const dir = values.dir ?? join(options.home, 'telemetry');
  const num = (name: string, raw: string | undefined, dflt: number, min: number): number | undefined => {
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) { out(`--${name} "${raw}" is not a whole number ≥ ${min}.\n${USAGE}`); return undefined; }
    return n;
  };
  if (positionals[0] === 'show') {
    if (positionals.length !== 2) { out(`'show' takes one trace id.\n${USAGE}`); return 2; }
    return show(dir, positionals[1]!, out);
  }
  if (positionals.length > 0) { out(`Unknown command "${positionals[0]}".\n${USAGE}`); return 2; }
  const slow = num('slow', values.slow, DEFAULT_SLOW_MS, 0);
  const limit = num('limit', values.limit, DEFAULT_LIMIT, 1);
  if (slow === undefined || limit === undefined) return 2;
  return list(dir, slow, values.failed === true, limit, out);
}
