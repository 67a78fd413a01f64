import { esc } from '@second-brain/server/html';
import type { Evidence } from '../probes/index.ts';
import { formatMs } from './format.ts';
import type { FlatSpan } from './otlp-receiver.ts';

/**
 * Inline SVG timelines for the HTML report: ping round trips against their bound,
 * MCP calls and upstream requests as bars (aborts marked), and the trace as a
 * waterfall. Plain SVG with `<title>` tooltips: no script, no external assets.
 */

const WIDTH = 960;
const LEFT = 190;
const RIGHT = 20;
const ROW = 13;
const MAX_ROWS = 160;

/** The pages' one escaper (`@second-brain/server/html`). */
export { esc };

interface Scale {
  x(ms: number): number;
  t0: number;
  span: number;
}

function scaleFor(t0: number, t1: number): Scale {
  const span = Math.max(1, t1 - t0);
  return { t0, span, x: (ms: number) => LEFT + ((ms - t0) / span) * (WIDTH - LEFT - RIGHT) };
}

/** Where activity begins (the server's start is not drawn: nothing is measured before the handshake). */
function activityStart(ev: Evidence): number {
  const firsts = [ev.pings[0]?.atMs, ev.calls[0]?.startMs, ev.journal[0]?.startWallMs].filter((t): t is number => typeof t === 'number');
  return firsts.length ? Math.max(ev.startMs, Math.min(...firsts) - 50) : ev.startMs;
}

function axis(s: Scale, y: number, height: number): string {
  const step = niceStep(s.span / 8);
  const ticks: string[] = [];
  for (let t = 0; t <= s.span + 1e-9; t += step) {
    const x = s.x(s.t0 + t).toFixed(1);
    ticks.push(`<line x1="${x}" y1="${y}" x2="${x}" y2="${y + height}" class="grid"/><text x="${x}" y="${y + height + 12}" class="tick">${formatMs(t)}</text>`);
  }
  return ticks.join('');
}

function niceStep(raw: number): number {
  const pow = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

function marksLayer(ev: Evidence, s: Scale, y: number, height: number): string {
  return ev.marks
    .filter((m) => m.kind === 'restart' || m.kind === 'cancel' || m.kind === 'fault' || m.kind === 'account' || (m.kind === 'phase' && m.label === 'checks'))
    .map((m) => {
      const x = s.x(m.atMs).toFixed(1);
      return `<line x1="${x}" y1="${y}" x2="${x}" y2="${y + height}" class="mark ${m.kind}"><title>${esc(`${formatMs(m.atMs - s.t0)}: ${m.label}`)}</title></line>`;
    })
    .join('');
}

/** Ping round trip over time, with the bound as a dashed line. */
export function pingChart(ev: Evidence, boundMs: number): string {
  const height = 150;
  const top = 10;
  const s = scaleFor(activityStart(ev), ev.endMs);
  const maxRtt = Math.max(boundMs * 1.5, ...ev.pings.map((p) => p.rttMs));
  const y = (ms: number) => top + height - (Math.min(ms, maxRtt) / maxRtt) * height;
  const points = ev.pings.map((p) => `${s.x(p.atMs).toFixed(1)},${y(p.rttMs).toFixed(1)}`).join(' ');
  const dots = ev.pings
    .filter((p) => p.failed || p.rttMs >= boundMs)
    .map((p) => `<circle cx="${s.x(p.atMs).toFixed(1)}" cy="${y(p.rttMs).toFixed(1)}" r="3" class="bad"><title>${esc(`${formatMs(p.atMs - s.t0)}: ${formatMs(p.rttMs)}${p.failed ? ' (failed)' : ''}`)}</title></circle>`)
    .join('');
  const by = y(boundMs).toFixed(1);
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${height + top + 24}" width="${WIDTH}" role="img" aria-label="ping round trips">
<text x="8" y="${top + 12}" class="label">ping RTT</text><text x="8" y="${top + 26}" class="sub">max ${formatMs(maxRtt)} scale</text><text x="8" y="${top + 40}" class="sub">t = 0: server up</text>
${axis(s, top, height)}${marksLayer(ev, s, top, height)}
<line x1="${LEFT}" y1="${by}" x2="${WIDTH - RIGHT}" y2="${by}" class="bound"><title>bound ${formatMs(boundMs)}</title></line>
<text x="${LEFT + 4}" y="${Number(by) - 3}" class="sub">bound ${formatMs(boundMs)}</text>
<polyline points="${points}" class="rtt"/>${dots}
</svg>`;
}

function statusClass(status: number | null, aborted: boolean): string {
  if (aborted) return 'aborted';
  if (status === null) return 'open';
  if (status === 0) return 'neterr';
  if (status === 429) return 's429';
  if (status >= 500) return 's5xx';
  if (status >= 400) return 's4xx';
  return 's2xx';
}

/** MCP calls (top) and upstream requests (below) as bars; aborts as ✕, cancels as vertical lines. */
export function requestsChart(ev: Evidence): string {
  const s = scaleFor(activityStart(ev), ev.endMs);
  const calls = ev.calls;
  const journal = ev.journal.slice(0, MAX_ROWS);
  const rows = calls.length + journal.length;
  const top = 10;
  const height = Math.max(1, rows) * ROW;
  const bars: string[] = [];
  calls.forEach((c, i) => {
    const y = top + i * ROW;
    const end = c.endMs ?? ev.endMs;
    const x1 = s.x(c.startMs);
    const w = Math.max(1.5, s.x(end) - x1);
    const tip = `${c.id} ${c.tool}: ${c.outcome} in ${formatMs(end - c.startMs)}${c.cancel ? `, cancelled (${c.cancel.trigger})` : ''}${c.progress.length ? `, ${c.progress.length} progress` : ''}`;
    bars.push(`<text x="${LEFT - 6}" y="${y + 10}" class="row call">${esc(truncate(`${c.id} ${c.tool}`, 30))}</text>`);
    bars.push(`<rect x="${x1.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${ROW - 4}" class="call ${c.outcome}"><title>${esc(tip)}</title></rect>`);
    for (const p of c.progress) bars.push(`<line x1="${s.x(p.atMs).toFixed(1)}" y1="${y + 1}" x2="${s.x(p.atMs).toFixed(1)}" y2="${y + ROW - 1}" class="progress"><title>${esc(`${formatMs(p.atMs - s.t0)}: ${p.message ?? `progress ${p.progress}`}`)}</title></line>`);
  });
  journal.forEach((e, i) => {
    const y = top + (calls.length + i) * ROW;
    const end = e.endWallMs ?? ev.endMs;
    const x1 = s.x(e.startWallMs);
    const w = Math.max(1.5, s.x(end) - x1);
    const tip = `#${e.id} ${e.method} ${e.path} → ${e.status ?? 'open'}${e.aborted ? ' (aborted)' : ''}${e.faults.length ? ` faults: ${e.faults.join(', ')}` : ''}${e.throttled ? ` throttled: ${e.throttled}` : ''}, ${formatMs(end - e.startWallMs)}`;
    bars.push(`<text x="${LEFT - 6}" y="${y + 10}" class="row">${esc(truncate(`${e.route}${e.routeCall > 1 ? ` #${e.routeCall}` : ''}`, 30))}</text>`);
    bars.push(`<rect x="${x1.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${ROW - 4}" class="req ${statusClass(e.status, e.aborted)}"><title>${esc(tip)}</title></rect>`);
    if (e.aborted && e.abortedAtWallMs !== null) bars.push(`<text x="${s.x(e.abortedAtWallMs).toFixed(1)}" y="${y + 10}" class="abort">✕<title>aborted at ${esc(formatMs(e.abortedAtWallMs - s.t0))}</title></text>`);
  });
  const more = ev.journal.length - journal.length;
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${height + top + 24}" width="${WIDTH}" role="img" aria-label="calls and upstream requests">
${axis(s, top, height)}${marksLayer(ev, s, top, height)}${bars.join('')}
${more > 0 ? `<text x="${LEFT}" y="${height + top + 22}" class="sub">… ${more} more upstream requests not drawn</text>` : ''}
</svg>`;
}

/** The trace as a waterfall: one row per span, indented by depth, coloured by service. */
export function spanWaterfall(spans: readonly FlatSpan[], t0: number, t1: number): string {
  if (spans.length === 0) return '';
  const byId = new Map(spans.map((sp) => [sp.spanId, sp]));
  const depth = (sp: FlatSpan): number => {
    let d = 0;
    let cur = sp;
    while (cur.parentSpanId && byId.has(cur.parentSpanId) && d < 20) {
      cur = byId.get(cur.parentSpanId)!;
      d += 1;
    }
    return d;
  };
  // Depth first, children by start time, so each call's server spans sit under it.
  const children = new Map<string, FlatSpan[]>();
  const roots: FlatSpan[] = [];
  for (const sp of spans) {
    if (sp.parentSpanId && byId.has(sp.parentSpanId)) {
      const list = children.get(sp.parentSpanId) ?? [];
      list.push(sp);
      children.set(sp.parentSpanId, list);
    } else roots.push(sp);
  }
  const ordered: FlatSpan[] = [];
  const walk = (list: FlatSpan[]) => {
    for (const sp of [...list].sort((a, b) => a.startMs - b.startMs)) {
      ordered.push(sp);
      walk(children.get(sp.spanId) ?? []);
    }
  };
  walk(roots);
  const shown = ordered.slice(0, MAX_ROWS);
  const start = Math.min(t0, ...shown.map((sp) => sp.startMs));
  const end = Math.max(t1, ...shown.map((sp) => sp.endMs));
  const s = scaleFor(start, end);
  const top = 10;
  const height = shown.length * ROW;
  const services = [...new Set(shown.map((sp) => sp.service))];
  const rows = shown.map((sp, i) => {
    const y = top + i * ROW;
    const x1 = s.x(sp.startMs);
    const w = Math.max(1.5, s.x(sp.endMs) - x1);
    const svc = services.indexOf(sp.service) % 6;
    const d = depth(sp);
    return `<text x="${8 + d * 8}" y="${y + 10}" class="row left">${esc(truncate(sp.name, 30 - d))}</text><rect x="${x1.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${ROW - 4}" class="span svc${svc}${sp.error ? ' err' : ''}"><title>${esc(`${sp.service}: ${sp.name} ${formatMs(sp.endMs - sp.startMs)}${sp.error ? ' (error)' : ''}`)}</title></rect>`;
  });
  const legend = services.map((name, i) => `<rect x="${LEFT + i * 170}" y="${height + top + 16}" width="10" height="8" class="span svc${i % 6}"/><text x="${LEFT + 14 + i * 170}" y="${height + top + 24}" class="sub">${esc(name)}</text>`).join('');
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${height + top + 30}" width="${WIDTH}" role="img" aria-label="trace waterfall">
${axis(s, top, height)}${rows.join('')}${legend}
${spans.length > shown.length ? `<text x="8" y="${height + top + 24}" class="sub">… ${spans.length - shown.length} more spans</text>` : ''}
</svg>`;
}

function truncate(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
