/**
 * `second-brain traces`: read the local telemetry files and show where tool calls spent
 * their time, with no collector and no UI (KI-20).
 *
 *   second-brain traces                        the most recent tool calls, newest first
 *   second-brain traces --slow 5000            only calls that took 5 s or more
 *   second-brain traces --failed               only failed calls
 *   second-brain traces show <traceId>         one trace as a tree: durations, status, key
 *                                              attributes and events (retries, cancellation,
 *                                              loop blocked)
 *   second-brain traces show <traceId> --html  the same trace as a waterfall page (stdout, or --out FILE)
 *   second-brain traces open <traceId>         writes that page under <home>/pages/ and prints its path
 *
 * This prints to stdout: it is a separate command, not the MCP server.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { formatDurationMs } from '../html/page.ts';
import { spanStatus, tracePage } from '../html/trace-page.ts';
import { readSpans, type LocalSpan } from '../telemetry/local-traces.ts';

export interface TracesCliOptions {
  /** The server's home; files are read from `<home>/telemetry/`, pages written to `<home>/pages/`. */
  home: string;
  /** Receives the output, one line per call (no trailing newline). */
  out: (line: string) => void;
  /** Cancels file writes (Ctrl-C). */
  signal?: AbortSignal;
}

/** Calls listed by default. */
export const DEFAULT_LIMIT = 20;

const LIST_USAGE = `usage: second-brain traces [--slow MS] [--failed] [--limit N] [--dir DIR]

Lists the most recent tool calls from the local telemetry files
(<home>/telemetry/traces-*.jsonl), newest first, with duration and status.
  --slow MS    only calls that took at least MS milliseconds
  --failed     only calls that failed (errors and cancellations)
  --limit N    show at most N calls (default ${DEFAULT_LIMIT})
  --dir DIR    read another directory of OTLP JSON lines files (e.g. a collector's file exporter)`;

const SHOW_USAGE = `usage: second-brain traces show <traceId> [--html [--out FILE]] [--dir DIR]

Prints one trace as a tree with durations, status, key attributes and events.
A unique prefix of 6 or more hex digits of the trace id works.
  --html       write the trace as a self-contained waterfall page instead (to stdout)
  --out FILE   with --html: write the page to FILE and print its path
  --dir DIR    read another directory of OTLP JSON lines files`;

const OPEN_USAGE = `usage: second-brain traces open <traceId> [--dir DIR]

Writes the trace's waterfall page to <home>/pages/trace-<traceId>.html and prints its
path and file:// address, to open in any browser. The page loads nothing from the network.
  --dir DIR    read another directory of OTLP JSON lines files`;

const USAGE = `usage:
  second-brain traces [--slow MS] [--failed] [--limit N] [--dir DIR]
  second-brain traces show <traceId> [--html [--out FILE]] [--dir DIR]
  second-brain traces open <traceId> [--dir DIR]
  second-brain traces <command> --help

${LIST_USAGE.split('\n').slice(2).join('\n')}`;

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

const formatDuration = formatDurationMs;

function formatTime(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function isFailed(s: LocalSpan): boolean {
  return spanStatus(s) !== 'ok';
}

function statusText(s: LocalSpan): string {
  const status = spanStatus(s);
  if (status === 'cancelled') return 'CANCELLED';
  const type = s.attributes['error.type'];
  if (status === 'error') return type !== undefined ? `ERROR ${String(type)}` : 'ERROR';
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

async function list(dir: string, slowMs: number | undefined, failedOnly: boolean, limit: number, out: (s: string) => void): Promise<number> {
  const { spans, files, badLines } = await readSpans(dir, isToolCall);
  if (files === 0) {
    out(`No trace files in ${dir}. The server writes them there when no OTLP endpoint is configured; make a tool call first.`);
    return 0;
  }
  // Start times are whole milliseconds (the SDK takes them from Date.now()), so ties are
  // common; the order spans were written in (the order they ended) breaks them.
  const written = new Map(spans.map((s, i) => [s, i]));
  const matching = spans
    .filter((s) => (!failedOnly || isFailed(s)) && (slowMs === undefined || durationMs(s) >= slowMs))
    .sort((a, b) => cmpDesc(a.startNs, b.startNs) || written.get(b)! - written.get(a)!);
  const shown = matching.slice(0, limit);
  const filters = [slowMs !== undefined ? `≥ ${formatDuration(slowMs)}` : '', failedOnly ? 'failed' : ''].filter(Boolean);
  const what = filters.length ? `${matching.length} match (${filters.join(', ')})` : `${matching.length} listed`;
  out(`${spans.length} tool call(s) in ${files} file(s); ${what}${matching.length > shown.length ? `, newest ${shown.length} shown` : ''}.`);
  if (badLines) out(`(${badLines} unreadable line(s) skipped)`);
  if (shown.length === 0) {
    if (filters.length) out('Nothing matches; run without --slow/--failed to see every recent call.');
    return 0;
  }
  out(`${pad('TIME (UTC)', 21)}${pad('TOOL', 22)}${pad('DURATION', 11)}${pad('STATUS', 34)}TRACE ID`);
  for (const s of shown) {
    const tool = String(s.attributes['gen_ai.tool.name'] ?? s.name.replace(/^tools\/call /, ''));
    out(`${pad(formatTime(s.startNs), 21)}${pad(tool, 22)}${pad(formatDuration(durationMs(s)), 11)}${pad(statusText(s), 34)}${s.traceId}`);
  }
  out('Show one: second-brain traces show <traceId>   (as a page: second-brain traces open <traceId>)');
  return 0;
}

/** The spans of one trace, by id or unique prefix; or the exit code and message why not. */
async function findTrace(dir: string, traceId: string, out: (s: string) => void): Promise<{ spans: LocalSpan[]; traceId: string } | number> {
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
  return { spans, traceId: [...ids][0]! };
}

function pageOf(found: { spans: LocalSpan[]; traceId: string }, dir: string): string {
  return tracePage(found.spans, { subtitle: `Read from ${dir} · ${new Date().toISOString()}` });
}

async function showHtml(dir: string, traceId: string, outFile: string | undefined, o: TracesCliOptions): Promise<number> {
  const found = await findTrace(dir, traceId, o.out);
  if (typeof found === 'number') return found;
  const html = pageOf(found, dir);
  if (outFile === undefined) { o.out(html); return 0; }
  const path = resolve(outFile);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, html, { signal: o.signal });
  o.out(path);
  return 0;
}

async function open(dir: string, traceId: string, o: TracesCliOptions): Promise<number> {
  const found = await findTrace(dir, traceId, o.out);
  if (typeof found === 'number') return found;
  const path = join(o.home, 'pages', `trace-${found.traceId}.html`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, pageOf(found, dir), { signal: o.signal });
  o.out(path);
  o.out(`Open it in a browser: ${pathToFileURL(path).href}`);
  return 0;
}

async function show(dir: string, traceId: string, out: (s: string) => void): Promise<number> {
  const found = await findTrace(dir, traceId, out);
  if (typeof found === 'number') return found;
  const { spans } = found;
  const ids = new Set([found.traceId]);
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
  const command = argv[0] === 'show' || argv[0] === 'open' || argv[0] === 'help' ? argv[0] : undefined;
  const usage = command === 'show' ? SHOW_USAGE : command === 'open' ? OPEN_USAGE : USAGE;
  let parsed;
  try {
    parsed = parseArgs({
      args: command ? argv.slice(1) : argv,
      allowPositionals: true,
      options: {
        slow: { type: 'string' },
        limit: { type: 'string' },
        failed: { type: 'boolean' },
        dir: { type: 'string' },
        html: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // node:util's message goes on to explain '--' for positionals; the first sentence is the point.
    out(`${(err as Error).message.split('. ')[0]!.replace(/\.?$/, '.')}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || command === 'help') { out(usage); return 0; }
  const dir = values.dir ?? join(options.home, 'telemetry');
  const misplaced = (names: Array<keyof typeof values>): number | undefined => {
    const given = names.filter((n) => values[n] !== undefined);
    if (given.length === 0) return undefined;
    out(`${given.map((n) => `--${n}`).join(', ')} ${given.length > 1 ? 'do' : 'does'} not apply here.\n${usage}`);
    return 2;
  };
  if (command === 'show' || command === 'open') {
    if (positionals.length !== 1) { out(`'${command}' takes one trace id.\n${usage}`); return 2; }
    const bad = misplaced(command === 'open' ? ['slow', 'limit', 'failed', 'html', 'out'] : ['slow', 'limit', 'failed']);
    if (bad !== undefined) return bad;
    if (command === 'open') return open(dir, positionals[0]!, options);
    if (values.out !== undefined && !values.html) { out(`--out is for --html pages.\n${usage}`); return 2; }
    return values.html ? showHtml(dir, positionals[0]!, values.out, options) : show(dir, positionals[0]!, out);
  }
  if (positionals.length > 0) { out(`Unknown command "${positionals[0]}".\n${usage}`); return 2; }
  const bad = misplaced(['html', 'out']);
  if (bad !== undefined) return bad;
  const num = (name: string, raw: string | undefined, min: number): number | undefined | null => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < min) { out(`--${name} "${raw}" is not a whole number ≥ ${min}.\n${usage}`); return null; }
    return n;
  };
  const slow = num('slow', values.slow, 0);
  const limit = num('limit', values.limit, 1);
  if (slow === null || limit === null) return 2;
  return list(dir, slow, values.failed === true, limit ?? DEFAULT_LIMIT, out);
}
