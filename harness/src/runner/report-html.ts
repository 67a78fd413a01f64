import { htmlPage } from '@second-brain/server/html';
import { DEFAULT_MAX_PING_MS } from '../probes/index.ts';
import type { Measurement } from '../probes/index.ts';
import { failures, labelOf, verdictText } from './console-reporter.ts';
import { formatBoundText, formatMs, withRealFigure } from './format.ts';
import { esc, pingChart, requestsChart, spanWaterfall } from './report-svg.ts';
import { asExpected, notJudged } from './run-scenario.ts';
import type { ScenarioResult } from './run-scenario.ts';

/**
 * The self-contained HTML report: a summary table, then per scenario its verdict, what
 * it was proven against, every probe figure against its bound (with the real-world
 * figure where time was compressed), and its timelines as inline SVG.
 */

export interface HtmlReportInput {
  results: readonly ScenarioResult[];
  skipped: ReadonlyArray<{ label: string; why: string }>;
  generatedAt: string;
  totalMs: number;
  command: string;
  /** Per result, the path of its trace's waterfall page relative to the report (linked when given). */
  tracePages?: readonly string[];
}

/** The id of a result's section in the report (`#KI-05-provider-cancel-loopback-3`). */
export function reportAnchor(r: Pick<ScenarioResult, 'key' | 'mode'>, index: number): string {
  return `${r.key}-${r.mode}-${index}`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0}h3{font-size:14px;margin:18px 0 6px;color:#445}
.meta{color:#667;margin-bottom:16px}
table{border-collapse:collapse;margin:8px 0;background:#fff}th,td{border:1px solid #dde1e7;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:700;font-size:12px;color:#fff}
.pass .badge,.badge.pass{background:#1f883d}.fail .badge,.badge.fail{background:#cf222e}.error .badge,.badge.error{background:#9a6700}.badge.info{background:#8c959f}.badge.skip{background:#bf8700}.not-judged .badge,.badge.not-judged{background:#6e7781}p.busy{color:#6e7781;font-weight:600}section.scenario.not-judged{border-left-color:#6e7781}
section.scenario{background:#fff;border:1px solid #dde1e7;border-left:6px solid #1f883d;border-radius:6px;padding:14px 18px;margin:18px 0}
section.scenario.fail{border-left-color:#cf222e}section.scenario.error{border-left-color:#9a6700}
tr.fail td{background:#ffebe9}td.note{color:#57606a;max-width:420px;word-break:break-word}
.err{color:#cf222e;font-weight:600}.small{color:#57606a;font-size:12px}
svg.chart{display:block;margin:6px 0 14px;max-width:100%;height:auto;background:#fff}
svg .grid{stroke:#eef0f3}svg .tick{font-size:10px;fill:#8c959f;text-anchor:middle}
svg .label{font-size:12px;font-weight:600;fill:#445}svg .sub{font-size:10px;fill:#8c959f}
svg .row{font-size:10px;fill:#445;text-anchor:end}svg .row.left{text-anchor:start}svg .row.call{font-weight:600}
svg .rtt{fill:none;stroke:#0969da;stroke-width:1.3}svg .bound{stroke:#cf222e;stroke-dasharray:5 4}svg .bad{fill:#cf222e}
svg .mark{stroke-width:1.2;stroke-dasharray:2 3}svg .mark.cancel{stroke:#cf222e}svg .mark.restart{stroke:#8250df}svg .mark.fault,svg .mark.account{stroke:#bf8700}svg .mark.phase{stroke:#8c959f}
svg .call{fill:#0969da}svg .call.error{fill:#bc4c00}svg .call.cancelled{fill:#8c959f}svg .call.timeout,svg .call.pending,svg .call.disconnected{fill:#cf222e}
svg .progress{stroke:#fff;stroke-width:1}
svg .req.s2xx{fill:#2da44e}svg .req.s4xx{fill:#d4a72c}svg .req.s429{fill:#8250df}svg .req.s5xx{fill:#cf222e}svg .req.neterr{fill:#6e7781}svg .req.aborted{fill:#afb8c1}svg .req.open{fill:#fff;stroke:#cf222e;stroke-dasharray:3 2}
svg .abort{font-size:11px;fill:#cf222e;font-weight:700;text-anchor:middle}
svg .span.svc0{fill:#0969da}svg .span.svc1{fill:#2da44e}svg .span.svc2{fill:#8250df}svg .span.svc3{fill:#bf8700}svg .span.svc4{fill:#1b7c83}svg .span.svc5{fill:#6e7781}svg .span.err{stroke:#cf222e;stroke-width:2}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
details{margin:6px 0}summary{cursor:pointer;color:#0969da}
`;

function measurementRows(ms: readonly Measurement[], timeScale: number): string {
  return ms
    .map(
      (m) => `<tr class="${m.verdict}"><td>${esc(m.probe)}</td><td>${esc(m.metric)}</td><td class="num">${esc(withRealFigure(m, timeScale))}</td><td class="num">${esc(formatBoundText(m))}</td><td><span class="badge ${m.verdict}">${m.verdict}</span></td><td class="note">${esc(m.note ?? '')}</td></tr>`,
    )
    .join('\n');
}

/** Failures first, then the rest in probe order. */
function sorted(ms: readonly Measurement[]): Measurement[] {
  return [...ms.filter((m) => m.verdict === 'fail'), ...ms.filter((m) => m.verdict !== 'fail')];
}

function provenText(r: ScenarioResult): string {
  const p = r.provenAgainst;
  return 'defect' in p ? `test defect switch <code>${esc(p.defect)}</code>` : `toy server <code>${esc(p.toy)}</code>`;
}

function callsTable(r: ScenarioResult): string {
  if (r.evidence.calls.length === 0) return '';
  const rows = r.evidence.calls
    .map(
      (c) => `<tr class="${c.outcome === 'success' || c.outcome === 'cancelled' ? '' : 'fail'}"><td>${esc(c.id)}</td><td>${esc(c.tool)}</td><td>${esc(c.outcome)}</td><td class="num">${esc(formatMs(c.endMs === null ? null : c.endMs - c.startMs))}</td><td class="num">${c.progress.length}</td><td class="note">${esc(c.text.slice(0, 300))}</td></tr>`,
    )
    .join('\n');
  return `<details><summary>Calls (${r.evidence.calls.length})</summary><table><tr><th>id</th><th>tool</th><th>outcome</th><th>time</th><th>progress</th><th>text</th></tr>${rows}</table></details>`;
}

function scenarioSection(r: ScenarioResult, anchor: string, tracePage: string | undefined): string {
  const bound = r.measurements.find((m) => m.probe === 'responsive' && m.metric === 'ping max')?.bound?.value ?? DEFAULT_MAX_PING_MS;
  const waterfall = spanWaterfall(r.spans, r.evidence.startMs, r.evidence.endMs);
  const failed = failures(r);
  const cls = notJudged(r) ? 'not-judged' : asExpected(r) ? 'pass' : r.verdict === 'error' ? 'error' : 'fail';
  return `<section class="scenario ${cls}" id="${esc(anchor)}">
<h2><span class="badge ${cls}">${verdictText(r)}</span> ${esc(r.key)} <span class="small">[${esc(r.mode)}]${r.proof ? ` run against ${esc(r.proof)}, expected to fail` : ''}</span></h2>
<div>${esc(r.title)}</div>
<div class="small">Duration ${esc(formatMs(r.durationMs))} · time scale ${r.timeScale === 1 ? '1 (real time)' : `1:${r.timeScale} (scaled figures show their real-world equivalent)`} · proven against ${provenText(r)}${r.defects.length ? ` · run with defects <code>${esc(r.defects.join(','))}</code>` : ''}</div>
${r.error ? `<p class="err">${esc(r.error)}</p>` : ''}
${notJudged(r) ? `<p class="busy">Not judged (machine too busy) after ${r.judging?.attempts ?? 1} run(s): ${esc(r.judging?.busy.join('; ') ?? '')}. The latency figures below missed their bound while the reference process, doing nothing, was itself over its limit.</p>` : ''}
${r.evidence.reference ? `<div class="small">Reference process over the same window: ping max ${esc(formatMs(r.evidence.reference.figures.pingMaxMs))}, p99 ${esc(formatMs(r.evidence.reference.figures.pingP99Ms))}, event-loop max ${esc(formatMs(r.evidence.reference.figures.loopMaxMs))} (busy limit ${r.evidence.reference.busyLimitMs} ms); latencies are judged on the server's excess over it.</div>` : ''}
${failed.length ? `<ul class="err">${failed.map((m) => `<li>${esc(`${m.probe}: ${m.metric} = ${withRealFigure(m, r.timeScale)} (bound ${formatBoundText(m)})`)}</li>`).join('')}</ul>` : ''}
<h3>Ping round trips</h3>
${pingChart(r.evidence, bound)}
<h3>Calls and upstream requests</h3>
<div class="legend small"><span><i style="background:#0969da"></i>MCP call</span><span><i style="background:#2da44e"></i>2xx</span><span><i style="background:#d4a72c"></i>4xx</span><span><i style="background:#8250df"></i>429</span><span><i style="background:#cf222e"></i>5xx</span><span><i style="background:#afb8c1"></i>aborted (✕)</span><span><i style="border:1px dashed #cf222e"></i>never ended</span><span>dotted lines: cancel (red), restart (purple), fault/account change (amber)</span></div>
${requestsChart(r.evidence)}
<h3>Probe figures</h3>
<table><tr><th>probe</th><th>figure</th><th>value</th><th>bound</th><th>verdict</th><th>note</th></tr>
${measurementRows(sorted(r.measurements), r.timeScale)}
</table>
<h3>Trace</h3>
<p class="small">${esc(r.telemetryNote)}${tracePage ? ` · <a href="${esc(tracePage)}">Trace page of ${esc(labelOf(r))}</a> (${r.spans.length} spans: bars, status, attributes and events)` : ''}</p>
${waterfall}
${callsTable(r)}
</section>`;
}

export function htmlReport(input: HtmlReportInput): string {
  const { results } = input;
  const passed = results.filter(asExpected).length;
  const unjudged = results.filter(notJudged).length;
  const anchors = results.map(reportAnchor);
  const summary = results
    .map((r, i) => {
      const ping = r.measurements.find((m) => m.probe === 'responsive' && m.metric === 'ping max');
      const cls = notJudged(r) ? 'not-judged' : asExpected(r) ? 'pass' : r.verdict === 'error' ? 'error' : 'fail';
      return `<tr class="${cls === 'pass' ? '' : 'fail'}"><td><a href="#${esc(anchors[i]!)}">${esc(labelOf(r))}</a></td><td>${esc(r.title)}</td><td>${esc(r.mode)}</td><td><span class="badge ${cls}">${verdictText(r).toLowerCase()}</span></td><td class="num">${esc(formatMs(r.durationMs))}</td><td class="num">${esc(ping ? withRealFigure(ping, 1) : '—')}</td><td class="num">${failures(r).length}</td><td>${input.tracePages?.[i] ? `<a href="${esc(input.tracePages[i])}" aria-label="${esc(`trace of ${labelOf(r)}`)}">${r.spans.length} spans</a>` : '—'}</td></tr>`;
    })
    .join('\n');
  const skipped = input.skipped.map((s) => `<tr><td>${esc(s.label)}</td><td colspan="7"><span class="badge skip">skip</span> ${esc(s.why)}</td></tr>`).join('\n');
  return htmlPage({ title: 'second-brain chaos report', css: CSS, body: `<h1>second-brain chaos report</h1>
<div class="meta">${passed} of ${results.length} scenario run(s) passed${unjudged ? `, ${unjudged} not judged (machine too busy)` : ''}${input.skipped.length ? `, ${input.skipped.length} skipped` : ''} · ${esc(formatMs(input.totalMs))} · generated ${esc(input.generatedAt)}<br><code>${esc(input.command)}</code></div>
<table><tr><th>scenario</th><th>title</th><th>mode</th><th>verdict</th><th>time</th><th>ping max</th><th>failed checks</th><th>trace</th></tr>
${summary}
${skipped}
</table>
${results.map((r, i) => scenarioSection(r, anchors[i]!, input.tracePages?.[i])).join('\n')}
<p class="small">Every scenario also applies the common rules: responsive (ping max &lt; ${DEFAULT_MAX_PING_MS} ms unless a scenario states a measured reason), alive, bounded, nothing lost, no secrets.</p>` });
}
