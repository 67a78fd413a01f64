/**
 * The benchmark report as one self-contained HTML page (no network: inline CSS and SVG),
 * built from `bench.json` by a pure function: a section per benchmark with one chart per
 * figure across its cases and a table of its targets (met or missed), plus machine facts.
 */
import { barChart, esc, htmlPage } from '@second-brain/server/html';
import type { BenchRow } from './types.ts';

export interface BenchReport {
  quick: boolean;
  at: string;
  node: string;
  benchmarks: Array<{ name: string; title: string; rows: BenchRow[] }>;
}

function targetsTable(name: string, rows: readonly BenchRow[]): string {
  const ts = rows.flatMap((r) => (r.targets ?? []).map((t) => ({ row: r, t })));
  if (ts.length === 0) return '';
  const body = ts
    .map(({ row, t }) => `<tr><td>${esc(row.case)}</td><td>${esc(t.column)}</td><td>${esc(String(row.figures[t.column]?.value ?? '—'))}</td><td>${esc(t.op)} ${esc(String(t.bound))}</td><td>${t.pass ? 'met' : '<strong>missed</strong>'}</td></tr>`)
    .join('');
  return `<table><caption>Targets of ${esc(name)}</caption><thead><tr><th>case</th><th>figure</th><th>value</th><th>bound</th><th>verdict</th></tr></thead><tbody>${body}</tbody></table>`;
}

/** One chart per figure column: a bar per case that measured it. */
function charts(name: string, rows: readonly BenchRow[]): string {
  const columns = rows.length ? Object.keys(rows[0]!.figures) : [];
  return columns
    .map((c) => {
      const bars = rows.flatMap((r) => {
        const v = r.figures[c]?.value;
        return v === null || v === undefined ? [] : [{ label: r.case, value: v }];
      });
      if (bars.length === 0) return '';
      const bound = rows.flatMap((r) => r.targets ?? []).find((t) => t.column === c);
      const unit = rows[0]!.figures[c]?.unit ?? '';
      return `<figure><figcaption>${esc(c)} (${esc(unit)})</figcaption>${barChart({ label: `${name}: ${c} per case`, bars, unit, reference: bound ? { value: bound.bound, label: `target ${bound.op} ${bound.bound}` } : undefined })}</figure>`;
    })
    .join('');
}

/** bench.json → an HTML page. */
export function benchReportHtml(report: BenchReport): string {
  const sections = report.benchmarks
    .map((b) => `<section><h2>${esc(b.name)}: ${esc(b.title)}</h2>${charts(b.name, b.rows)}${targetsTable(b.name, b.rows)}</section>`)
    .join('');
  const facts = `<p>Node ${esc(report.node)}; ${report.quick ? 'quick run (targets not judged)' : 'full run'}; measured at ${esc(report.at)}.</p>`;
  return htmlPage({ title: 'Benchmark report', body: `<h1>Benchmark report</h1>${facts}${sections}` });
}
