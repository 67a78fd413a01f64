/**
 * One trace as a waterfall page, for people without Jaeger: spans as bars on a time
 * axis, nested by parent, coloured by status; a click on a span shows its attributes and
 * events. Cancellations (✕ at the cancel event) and event-loop stalls (a hatched band for
 * each `second_brain.loop.blocked` event, KI-20) are marked, and so is the slowest span:
 * the one with the most time of its own, not covered by its children, which is where a
 * slow call spent its time (the root is always the longest, so length alone says nothing).
 *
 * A pure function of the spans: `second-brain traces show --html` and the chaos report
 * both use it. The page is one self-contained document (see {@link htmlPage}).
 */
import { DEFAULTS } from '../config/defaults.ts';
import type { LocalSpan } from '../telemetry/local-traces.ts';
import {
  ATTR_ERROR_TYPE, ATTR_SB_CANCELLED, ATTR_SB_CANCEL_REASON, ATTR_SB_LOOP_BLOCKED_MS, EVENT_SB_CANCELLED, EVENT_SB_LOOP_BLOCKED,
  SPAN_SB_LOOP_BLOCKED,
} from '../telemetry/semconv.ts';
import { niceStep } from './bar-chart.ts';
import { esc, formatDurationMs, htmlPage } from './page.ts';

export interface TracePageOptions {
  /** Page heading; default `Trace <id>` (or `N traces`). */
  title?: string;
  /** A line under the heading, e.g. where the spans were read from. */
  subtitle?: string;
  /** A link back, e.g. to the chaos report that holds this trace. */
  back?: { href: string; label: string };
  /** Rows drawn at most; the rest are counted. Default {@link DEFAULTS.TRACE_PAGE_MAX_SPANS}. */
  maxSpans?: number;
}

export type SpanStatus = 'ok' | 'error' | 'cancelled';

/** Drawn as a stall: the watchdog's span for a blocked event loop. */
function isStallSpan(s: LocalSpan): boolean {
  return s.name === SPAN_SB_LOOP_BLOCKED;
}

const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
/** Stall bands drawn at most per row (a stall storm would otherwise draw thousands). */
const MAX_STALL_BANDS = 50;

/** Cancelled beats error: a cancelled call also ends with an error status, but it is not a fault. */
export function spanStatus(s: LocalSpan): SpanStatus {
  if (s.attributes[ATTR_SB_CANCELLED] === true || s.events.some((e) => e.name === EVENT_SB_CANCELLED)) return 'cancelled';
  if (s.status.code === 2 || s.attributes[ATTR_ERROR_TYPE] !== undefined) return 'error';
  return 'ok';
}

/** An offset from the trace's start: `+0`, `+87 ms`, `+1.25 s`. */
function since(offsetMs: number): string {
  return offsetMs < 0.005 ? '+0' : `+${formatDurationMs(offsetMs)}`;
}

function ms(ns: bigint): number {
  return Number(ns) / 1e6;
}

function valueText(v: unknown): string {
  if (typeof v === 'string') return v;
  return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ') : JSON.stringify(v);
}

/** Time of a span not covered by any of its children (children clipped to the span). */
function selfTimeMs(s: LocalSpan, kids: readonly LocalSpan[]): number {
  const intervals = kids
    .map((k) => [k.startNs < s.startNs ? s.startNs : k.startNs, k.endNs > s.endNs ? s.endNs : k.endNs] as const)
    .filter(([a, b]) => b > a)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let covered = 0n;
  let curStart = -1n;
  let curEnd = -1n;
  for (const [a, b] of intervals) {
    if (a > curEnd) {
      if (curEnd > curStart) covered += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else if (b > curEnd) curEnd = b;
  }
  if (curEnd > curStart) covered += curEnd - curStart;
  return ms(s.endNs - s.startNs - covered);
}

interface Row {
  span: LocalSpan;
  depth: number;
  selfMs: number;
  status: SpanStatus;
}

/** Depth-first by start time, so each span's children sit under it. */
function orderRows(spans: readonly LocalSpan[]): { rows: Row[]; roots: number } {
  const byId = new Map<string, LocalSpan>();
  for (const s of spans) byId.set(s.spanId, s); // a span exported twice is drawn once
  const unique = [...byId.values()];
  const children = new Map<string, LocalSpan[]>();
  const roots: LocalSpan[] = [];
  for (const s of unique) {
    if (s.parentSpanId && byId.has(s.parentSpanId) && s.parentSpanId !== s.spanId) {
      const list = children.get(s.parentSpanId) ?? [];
      list.push(s);
      children.set(s.parentSpanId, list);
    } else roots.push(s);
  }
  const byStart = (a: LocalSpan, b: LocalSpan) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0);
  const rows: Row[] = [];
  const seen = new Set<string>();
  // An explicit stack, not recursion: a deep or cyclic parent chain must not overflow it.
  const stack: Array<{ span: LocalSpan; depth: number }> = roots.sort(byStart).reverse().map((span) => ({ span, depth: 0 }));
  while (stack.length) {
    const { span, depth } = stack.pop()!;
    if (seen.has(span.spanId)) continue;
    seen.add(span.spanId);
    const kids = (children.get(span.spanId) ?? []).sort(byStart);
    rows.push({ span, depth, selfMs: selfTimeMs(span, kids), status: spanStatus(span) });
    for (const k of [...kids].reverse()) stack.push({ span: k, depth: depth + 1 });
  }
  return { rows, roots: roots.length };
}

interface Stall {
  atMs: number;
  durationMs: number;
}

function stallsOf(s: LocalSpan): Stall[] {
  if (isStallSpan(s)) return [{ atMs: ms(s.startNs), durationMs: ms(s.endNs - s.startNs) }];
  return s.events
    .filter((e) => e.name === EVENT_SB_LOOP_BLOCKED)
    .map((e) => ({ atMs: ms(e.timeNs), durationMs: Number(e.attributes[ATTR_SB_LOOP_BLOCKED_MS] ?? 0) }));
}

const CSS = `
.summary{display:flex;flex-wrap:wrap;gap:6px 18px;margin:6px 0 10px;color:var(--muted)}.summary b{color:var(--ink)}
.chip{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid var(--line);background:#fff}
.chip.error{color:var(--bad);border-color:#ffcecb}.chip.cancelled{color:var(--warn);border-color:#f5e0a0}.chip.stall{color:var(--violet);border-color:#d8c8f5}.chip.slowest{color:#0b5cad;border-color:#b6d8fb}
table.wf{width:100%;table-layout:fixed;border-collapse:collapse;background:#fff;margin-top:4px}
table.wf th,table.wf td{border:none;border-bottom:1px solid #eef0f3;padding:0 6px;height:24px;vertical-align:middle}
table.wf thead th{position:sticky;top:0;background:#f6f8fa;z-index:2;height:26px}
table.wf col.name{width:44%}table.wf col.dur{width:84px}
tr.span-row{cursor:pointer}tr.span-row:hover td{background:#f6f8fa}tr.span-row.open td{background:#eef6ff}
td.name{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
button.toggle{font:inherit;border:none;background:none;padding:0 2px;color:var(--ink);cursor:pointer;max-width:100%;overflow:hidden;text-overflow:ellipsis;text-align:left}
.caret::before{content:"▸";display:inline-block;width:12px;color:var(--faint)}button.toggle[aria-expanded="true"] .caret::before{content:"▾"}
button.toggle:focus-visible{outline:2px solid var(--ok);outline-offset:1px}
.svc{color:var(--faint);font-size:11px;margin-left:4px}
.tag{display:inline-block;margin-left:6px;padding:0 6px;border-radius:8px;font-size:11px;font-weight:700;color:#fff;vertical-align:1px}
.tag.error{background:var(--bad)}.tag.cancelled{background:var(--warn)}.tag.stall{background:var(--violet)}.tag.slowest{background:#0b5cad}
td.track{position:relative;padding:0}
.axis{position:relative;height:26px}.axis span{position:absolute;top:6px;transform:translateX(-50%);font-size:10px;color:var(--faint);font-weight:400}
.gridline{position:absolute;top:0;bottom:0;width:1px;background:#f0f2f5}
.bar{position:absolute;top:6px;height:12px;min-width:2px;border-radius:2px}
.bar.ok{background:var(--ok)}.bar.stall{background:var(--violet)}.bar.error{background:var(--bad)}.bar.cancelled{background:repeating-linear-gradient(135deg,#bf8700 0 4px,#d4a72c 4px 8px)}
tr.slowest .bar{outline:2px solid #0b5cad;outline-offset:1px}
.stallband{position:absolute;top:0;bottom:0;min-width:2px;background:repeating-linear-gradient(45deg,rgba(130,80,223,.28) 0 3px,rgba(130,80,223,.08) 3px 6px);border-left:1px solid var(--violet);border-right:1px solid var(--violet)}
.mark{position:absolute;top:2px;transform:translateX(-50%);font-size:13px;line-height:18px;font-weight:800;z-index:1}
.mark.cancel{color:var(--bad)}.mark.event{top:4px;width:2px;height:16px;background:#1d2330;opacity:.55;transform:none}
td.dur{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;color:#445}
tr.details td{background:#fbfcfd;padding:8px 12px 12px;height:auto;cursor:auto}
.detail-grid{display:grid;grid-template-columns:auto 1fr;gap:2px 14px;margin:0 0 8px}.detail-grid dt{color:var(--muted)}.detail-grid dd{margin:0;word-break:break-all}
.details table{width:100%;table-layout:auto;margin:4px 0 8px}.details table td,.details table th{font-size:12px;padding:2px 8px;height:auto;border:1px solid var(--line)}
.details td.k{white-space:nowrap;color:#445;width:1%}.details td.v{word-break:break-all;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.legend i.ok{background:var(--ok)}.legend i.error{background:var(--bad)}.legend i.cancelled{background:#d4a72c}.legend i.stall{background:rgba(130,80,223,.45)}.legend i.slowest{background:#fff;outline:2px solid #0b5cad}
`;

/**
 * Rows toggle their details on click (the whole row is a target; the button inside it is
 * the keyboard and screen-reader control). Written out by hand: a dozen lines, no library.
 */
const SCRIPT = `
document.addEventListener('click', function (e) {
  var t = e.target;
  if (!(t instanceof Element) || t.closest('tr.details')) return;
  var row = t.closest('tr.span-row');
  if (!row) return;
  var b = row.querySelector('button.toggle');
  var d = document.getElementById(b.getAttribute('aria-controls'));
  var open = b.getAttribute('aria-expanded') !== 'true';
  b.setAttribute('aria-expanded', String(open));
  d.hidden = !open;
  row.classList.toggle('open', open);
});
`;

/**
 * The waterfall page of `spans` (one trace, or several: each root starts a tree).
 *
 * @example
 * const html = tracePage(spansFromRequest(JSON.parse(await readFile('trace.json', 'utf8'))));
 */
export function tracePage(spans: readonly LocalSpan[], options: TracePageOptions = {}): string {
  const { rows: allRows, roots } = orderRows(spans);
  const max = options.maxSpans ?? DEFAULTS.TRACE_PAGE_MAX_SPANS;
  const rows = allRows.slice(0, max);
  const traceIds = [...new Set(allRows.map((r) => r.span.traceId))];
  const title = options.title ?? (traceIds.length === 1 ? `Trace ${traceIds[0]}` : `${traceIds.length} traces`);
  if (rows.length === 0) {
    return htmlPage({ title, css: CSS, body: `<h1>${esc(title)}</h1><p>No spans.</p>` });
  }
  const t0 = Math.min(...rows.map((r) => ms(r.span.startNs)));
  const t1 = Math.max(...rows.map((r) => ms(r.span.endNs)));
  const total = Math.max(t1 - t0, 0.001);
  const pct = (t: number) => `${(((t - t0) / total) * 100).toFixed(3)}%`;
  const widthPct = (d: number) => `${Math.max(0, (d / total) * 100).toFixed(3)}%`;
  // A root's own time is mostly waiting for its children to be scheduled (a harness's
  // scenario span, a request span); among the spans under the roots is where work went.
  const candidates = rows.some((r) => r.depth > 0) ? rows.filter((r) => r.depth > 0) : rows;
  const slowest = candidates.reduce((best, r) => (r.selfMs > best.selfMs ? r : best), candidates[0]!);
  const stalls = rows.flatMap((r) => stallsOf(r.span));
  // The same stall is recorded on every span it held up (and as the watchdog's own span); draw each once.
  const uniqueStalls = [...new Map(stalls.map((s) => [Math.round(s.atMs), s])).values()].slice(0, MAX_STALL_BANDS);
  const counts = { error: rows.filter((r) => r.status === 'error').length, cancelled: rows.filter((r) => r.status === 'cancelled').length };
  const services = [...new Set(rows.map((r) => r.span.service).filter((s): s is string => !!s))];

  const step = niceStep(total / 8);
  const ticks: string[] = [];
  for (let t = 0; t <= total + 1e-9; t += step) ticks.push(`<span style="left:${pct(t0 + t)}">${t === 0 ? '0' : esc(formatDurationMs(t))}</span>`);
  const gridlines = ticks.map((_, i) => `<i class="gridline" style="left:${pct(t0 + i * step)}"></i>`).join('');
  const bands = uniqueStalls
    .map((s) => `<i class="stallband" style="left:${pct(s.atMs)};width:${widthPct(s.durationMs)}" title="${esc(`event loop blocked ${formatDurationMs(s.durationMs)} at ${since(s.atMs - t0)}`)}"></i>`)
    .join('');

  const body = rows.map((r, i) => {
    const s = r.span;
    const start = ms(s.startNs);
    const dur = ms(s.endNs - s.startNs);
    const id = `d${i}`;
    const isSlowest = r === slowest;
    const ownStalls = stallsOf(s);
    const errorType = s.attributes[ATTR_ERROR_TYPE] === undefined ? undefined : String(s.attributes[ATTR_ERROR_TYPE]);
    // HTTP client spans are named by method only; the path says which request it was.
    const where = typeof s.attributes['url.path'] === 'string' ? s.attributes['url.path'] : '';
    const tags = [
      r.status === 'error' ? `<span class="tag error">error${errorType && errorType !== 'Error' ? ` ${esc(errorType)}` : ''}</span>` : '',
      r.status === 'cancelled' ? '<span class="tag cancelled">cancelled</span>' : '',
      ownStalls.length ? `<span class="tag stall">loop stall ${esc(formatDurationMs(Math.max(...ownStalls.map((x) => x.durationMs))))}</span>` : '',
      isSlowest ? '<span class="tag slowest">slowest</span>' : '',
    ].join('');
    const marks = s.events.map((e) => {
      const at = ms(e.timeNs);
      const label = `${e.name} at ${since(at - t0)}`;
      if (e.name === EVENT_SB_CANCELLED) {
        return `<span class="mark cancel" style="left:${pct(at)}" title="${esc(`${label}${e.attributes[ATTR_SB_CANCEL_REASON] !== undefined ? `: ${String(e.attributes[ATTR_SB_CANCEL_REASON])}` : ''}`)}" aria-hidden="true">✕</span>`;
      }
      if (e.name === EVENT_SB_LOOP_BLOCKED) return '';
      return `<span class="mark event" style="left:${pct(at)}" title="${esc(label)}" aria-hidden="true"></span>`;
    }).join('');
    const barLabel = `${s.name}: ${formatDurationMs(dur)} from ${since(start - t0)}, ${r.status}${isSlowest ? ', slowest' : ''}`;
    const attrs = Object.entries(s.attributes).sort(([a], [b]) => a.localeCompare(b));
    const details = `<tr class="details" id="${id}" hidden><td colspan="3"><div role="region" aria-label="${esc(`Details of ${s.name}`)}">
<dl class="detail-grid"><dt>span</dt><dd><code>${esc(s.spanId)}</code>${s.parentSpanId ? ` · parent <code>${esc(s.parentSpanId)}</code>` : ' · root'}</dd>
<dt>trace</dt><dd><code>${esc(s.traceId)}</code></dd>
<dt>kind</dt><dd>${esc(SPAN_KINDS[s.kind] ?? String(s.kind))}${s.service ? ` · service ${esc(s.service)}` : ''}</dd>
<dt>time</dt><dd>starts at ${esc(since(start - t0))}, lasts ${esc(formatDurationMs(dur))} (own time ${esc(formatDurationMs(r.selfMs))})</dd>
<dt>status</dt><dd>${esc(r.status)}${s.status.message ? `: ${esc(s.status.message)}` : ''}</dd></dl>
${attrs.length ? `<table aria-label="${esc(`Attributes of ${s.name}`)}"><tr><th>attribute</th><th>value</th></tr>${attrs.map(([k, v]) => `<tr><td class="k">${esc(k)}</td><td class="v">${esc(valueText(v))}</td></tr>`).join('')}</table>` : '<p class="small">No attributes.</p>'}
${s.events.length ? `<table aria-label="${esc(`Events of ${s.name}`)}"><tr><th>at</th><th>event</th><th>attributes</th></tr>${s.events.map((e) => `<tr><td class="k">${esc(since(ms(e.timeNs) - t0))}</td><td class="k">${esc(e.name)}</td><td class="v">${esc(Object.entries(e.attributes).map(([k, v]) => `${k}=${valueText(v)}`).join(' '))}</td></tr>`).join('')}</table>` : '<p class="small">No events.</p>'}
</div></td></tr>`;
    return `<tr class="span-row ${r.status}${isSlowest ? ' slowest' : ''}" role="row" aria-level="${r.depth + 1}" data-span-id="${esc(s.spanId)}" data-parent-id="${esc(s.parentSpanId ?? '')}" data-depth="${r.depth}">
<td class="name" role="gridcell" style="padding-left:${6 + r.depth * 16}px"><button type="button" class="toggle" aria-expanded="false" aria-controls="${id}"><span class="caret" aria-hidden="true"></span>${esc(s.name)}</button>${where ? `<span class="svc">${esc(where)}</span>` : ''}${tags}</td>
<td class="track" role="gridcell">${gridlines}${bands}<div class="bar ${isStallSpan(s) ? 'stall' : r.status}" style="left:${pct(start)};width:${widthPct(dur)}" role="img" aria-label="${esc(barLabel)}" title="${esc(barLabel)}"></div>${marks}</td>
<td class="dur" role="gridcell">${esc(formatDurationMs(dur))}</td></tr>
${details}`;
  }).join('\n');

  const startIso = new Date(t0).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const html = `${options.back ? `<p class="small"><a href="${esc(options.back.href)}">← ${esc(options.back.label)}</a></p>` : ''}
<h1>${esc(title)}</h1>
${options.subtitle ? `<div class="small">${esc(options.subtitle)}</div>` : ''}
<div class="summary"><span><b>${allRows.length}</b> spans${roots > 1 ? ` in ${roots} trees` : ''}</span><span><b>${esc(formatDurationMs(total))}</b> from ${esc(startIso)}</span>${services.length ? `<span>${esc(services.join(', '))}</span>` : ''}
<span class="chip slowest">slowest: ${esc(slowest.span.name)} (${esc(formatDurationMs(slowest.selfMs))} own time)</span>
${counts.error ? `<span class="chip error">${counts.error} failed</span>` : ''}${counts.cancelled ? `<span class="chip cancelled">${counts.cancelled} cancelled</span>` : ''}${uniqueStalls.length ? `<span class="chip stall">${uniqueStalls.length} loop stall(s)</span>` : ''}</div>
<div class="legend small"><span><i class="ok"></i>ok</span><span><i class="error"></i>error</span><span><i class="cancelled"></i>cancelled (✕ where the cancel arrived)</span><span><i class="stall"></i>event loop blocked</span><span><i class="slowest"></i>slowest: most time of its own</span><span>▏ event · click a span for its attributes and events</span></div>
<table class="wf" role="treegrid" aria-label="Spans on a time axis">
<colgroup><col class="name"><col><col class="dur"></colgroup>
<thead><tr role="row"><th role="columnheader">span</th><th role="columnheader" class="track"><div class="axis" aria-hidden="true">${ticks.join('')}</div></th><th role="columnheader">duration</th></tr></thead>
<tbody>
${body}
</tbody></table>
${allRows.length > rows.length ? `<p class="small">… ${allRows.length - rows.length} more spans not drawn (at most ${max}).</p>` : ''}`;
  return htmlPage({ title, css: CSS, body: html, script: SCRIPT });
}
