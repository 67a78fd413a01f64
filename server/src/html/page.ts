/**
 * The one HTML shell every page of the project uses (the trace waterfall, the chaos
 * report, the benchmark report): a self-contained document with inline CSS and script,
 * and a Content-Security-Policy that forbids every fetch, so a page can neither load
 * nor send anything, whatever it contains.
 */

/** Escapes text for HTML element content and double-quoted attribute values. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A duration for people: `0.42 ms`, `87 ms`, `1.25 s`, `12.5 s`, `2 min 5 s`.
 *
 * @example formatDurationMs(1250) // '1.25 s'
 */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** Nothing may be fetched: inline style and script only, images only as data: URLs. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/**
 * Styles shared by every page: type, tables, status badges, the legend, and the
 * classes of the charts (`svg.chart …`: bar, spread and line charts). Pages add their own after these.
 */
export const PAGE_CSS = `
:root{--ok:#0969da;--ok-soft:#ddf4ff;--good:#1f883d;--bad:#cf222e;--bad-soft:#ffebe9;--warn:#9a6700;--warn-soft:#fff8c5;--muted:#57606a;--faint:#8c959f;--line:#dde1e7;--bg:#fafbfc;--ink:#1d2330;--violet:#8250df}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:var(--ink);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0}h3{font-size:14px;margin:18px 0 6px;color:#445}
a{color:var(--ok)}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.meta{color:var(--muted);margin-bottom:16px}.small{color:var(--muted);font-size:12px}.err{color:var(--bad);font-weight:600}
table{border-collapse:collapse;margin:8px 0;background:#fff}th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:700;font-size:12px;color:#fff;background:var(--faint)}
.badge.pass,.badge.ok{background:var(--good)}.badge.fail,.badge.error{background:var(--bad)}.badge.warn{background:var(--warn)}.badge.info{background:var(--faint)}.badge.skip{background:#bf8700}
.legend{margin:6px 0}.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle;border-radius:2px}
details{margin:6px 0}summary{cursor:pointer;color:var(--ok)}
svg.chart{display:block;margin:6px 0 14px;max-width:100%;height:auto;background:#fff}
svg .grid{stroke:#eef0f3}svg .tick{font-size:10px;fill:var(--faint);text-anchor:middle}
svg .label{font-size:12px;font-weight:600;fill:#445}svg .sub{font-size:10px;fill:var(--faint)}
svg .row{font-size:11px;fill:#445;text-anchor:end}svg .row.left{text-anchor:start}
svg .bar.ok{fill:var(--ok)}svg .bar.good{fill:var(--good)}svg .bar.bad{fill:var(--bad)}svg .bar.warn{fill:#d4a72c}svg .bar.neutral{fill:var(--faint)}
svg .spread{stroke:#1d2330;stroke-width:1.2}svg .reference{stroke:var(--bad);stroke-dasharray:5 4}svg .value{font-size:10px;fill:#445}
svg .tick.y{text-anchor:end}svg .sub.end{text-anchor:end}svg .value.missed{fill:var(--bad);font-weight:600}
svg .dot{fill:var(--ok);fill-opacity:.55;stroke:#fff;stroke-width:.8}svg .median{stroke-width:3}svg .median.ok{stroke:var(--ink)}svg .median.good{stroke:var(--good)}svg .median.bad{stroke:var(--bad)}
svg .target{stroke:var(--bad);stroke-width:1.5;stroke-dasharray:4 3}svg .anchor{stroke:var(--faint);stroke-width:1.2}
svg .line{fill:none;stroke-width:1.8}svg .line.s0{stroke:var(--ok)}svg .line.s1{stroke:#bf5b04}svg .line.s2{stroke:var(--good)}svg .line.s3{stroke:var(--violet)}
svg .point.s0{fill:var(--ok)}svg .point.s1{fill:#bf5b04}svg .point.s2{fill:var(--good)}svg .point.s3{fill:var(--violet)}
`;

export interface PageOptions {
  /** The document title (also the accessible name of the page). */
  title: string;
  /** The body's HTML. */
  body: string;
  /** Page-specific CSS, appended after {@link PAGE_CSS}. */
  css?: string;
  /** Inline script, run at the end of the body. */
  script?: string;
}

/** A complete, self-contained HTML document. */
export function htmlPage(o: PageOptions): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${esc(PAGE_CSP)}">
<title>${esc(o.title)}</title><style>${PAGE_CSS}${o.css ?? ''}</style></head>
<body>
${o.body}
${o.script ? `<script>${o.script}</script>` : ''}
</body></html>
`;
}
