/**
 * The benchmark report as one self-contained HTML page (no network: inline CSS and SVG),
 * built from `bench.json` by a pure function. A section per benchmark:
 *
 * - figures measured in interleaved rounds (rows with `rounds`): one dot plot per unit,
 *   every round a dot, the min–max range a whisker, the median against its target line,
 *   ratios against the anchor's 1;
 * - cases of growing size (rows labelled `1,000 tiny`, or with a `files` figure): one
 *   chart per figure against the number of files, a line per kind of tree, from zero so
 *   linear growth reads as a straight line;
 * - other cases: a bar chart per figure; other summary figures: a table;
 * - the targets, met or missed, with value, bound and the rounds' range.
 */
import { barChart, esc, htmlPage, lineChart, spreadChart, type LineSeries, type SpreadRow } from '@second-brain/server/html';
import { median } from './stats.ts';
import type { BenchRow } from './types.ts';

export interface BenchReport {
  quick: boolean;
  at: string;
  node: string;
  benchmarks: Array<{ name: string; title: string; rows: BenchRow[] }>;
}

/** The unit of a ratio against an anchor (1 = as fast as the anchor). */
const RATIO_UNIT = '×';
/** The x axis of the cost-against-size charts. */
const SIZE_AXIS = 'files';

const CSS = `
section{margin:24px 0 32px}figure{margin:10px 0}figcaption{font-weight:600;color:#445;margin-bottom:2px}
.sizes{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:4px 20px;max-width:1420px}
.sizes figure{margin:6px 0}
`;

function fmt(v: number | null | undefined, unit = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = Math.abs(v) >= 1_000 ? Math.round(v).toLocaleString('en-US') : Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
  return unit ? `${s} ${unit}` : s;
}

const label = (row: BenchRow) => row.case.replace(/^target: /, '');

/** The shape `roundsBenchmark` gives every row: one `value` and its `bound`. */
function isSummaryRow(row: BenchRow): boolean {
  const keys = Object.keys(row.figures);
  return keys.length === 2 && keys.includes('value') && keys.includes('bound');
}

/**
 * A case's size: its `files` figure, else the count its label starts with (the scale
 * benchmark labels cases `1,000 tiny`); the rest of the label names the series.
 */
export function sizeOf(row: BenchRow): { files: number; series: string } | undefined {
  const m = /^(\d[\d,]*)\b\s*(.*)$/.exec(row.case);
  const files = row.figures[SIZE_AXIS]?.value ?? (m ? Number(m[1]!.replace(/,/g, '')) : null);
  if (files === null || !Number.isFinite(files)) return undefined;
  return { files, series: m?.[2] || 'all' };
}

function targetsTable(name: string, rows: readonly BenchRow[]): string {
  const ts = rows.flatMap((r) => (r.targets ?? []).map((t) => ({ row: r, t })));
  if (ts.length === 0) return '';
  const body = ts
    .map(({ row, t }) => {
      const f = row.figures[t.column];
      const rounds = row.rounds?.length ? `${fmt(Math.min(...row.rounds))}–${fmt(Math.max(...row.rounds))} (${row.rounds.length})` : '';
      return `<tr><td>${esc(row.case)}</td><td>${esc(t.column)}</td><td class="num">${esc(fmt(f?.value, f?.unit))}</td><td class="num">${esc(rounds)}</td><td>${esc(t.op)} ${esc(String(t.bound))}</td><td>${t.pass ? 'met' : '<strong>missed</strong>'}</td></tr>`;
    })
    .join('');
  return `<table><caption>Targets of ${esc(name)}</caption><thead><tr><th>case</th><th>figure</th><th>value</th><th>rounds (range, count)</th><th>bound</th><th>verdict</th></tr></thead><tbody>${body}</tbody></table>`;
}

/** One dot plot per unit over the rows measured in rounds. */
function spreadCharts(name: string, rows: readonly BenchRow[]): string {
  const byUnit = new Map<string, SpreadRow[]>();
  for (const r of rows) {
    if (!r.rounds?.length) continue;
    const unit = r.figures.value?.unit ?? '';
    const t = r.targets?.[0];
    const row: SpreadRow = {
      label: label(r),
      rounds: r.rounds,
      value: r.figures.value?.value ?? median(r.rounds),
      ...(t ? { target: { op: t.op, bound: t.bound, pass: t.pass } } : {}),
    };
    byUnit.set(unit, [...(byUnit.get(unit) ?? []), row]);
  }
  return [...byUnit].map(([unit, spreadRows]) => {
    const title = unit === RATIO_UNIT ? `${name}: ratios against the anchor, per round` : `${name}: ${unit || 'figures'} per round`;
    const caption = unit === RATIO_UNIT ? 'Ratios against the anchor (1 = the anchor), per round' : `In ${unit || 'units'}, per round`;
    return `<figure><figcaption>${esc(caption)}</figcaption>${spreadChart({ label: title, rows: spreadRows, unit, reference: unit === RATIO_UNIT ? { value: 1, label: 'anchor' } : undefined })}</figure>`;
  }).join('');
}

/** One chart per figure against the number of files, a line per kind of tree. */
function sizeCharts(name: string, rows: readonly BenchRow[]): string {
  const columns = Object.keys(rows[0]!.figures).filter((c) => c !== SIZE_AXIS);
  const charts = columns.map((c) => {
    const series = new Map<string, LineSeries['points'][number][]>();
    for (const r of rows) {
      const size = sizeOf(r)!;
      const f = r.figures[c];
      const points = series.get(size.series) ?? [];
      series.set(size.series, points);
      if (f?.value === null || f?.value === undefined) continue;
      const tree = r.figures['tree MB']?.value;
      points.push({ x: size.files, y: f.value, title: `${r.case}: ${fmt(f.value, f.unit)}${tree !== undefined && tree !== null && c !== 'tree MB' ? ` (tree ${fmt(tree, 'MB')})` : ''}` });
    }
    if ([...series.values()].every((p) => p.length === 0)) return '';
    const judged = rows.filter((r) => r.targets?.some((t) => t.column === c));
    const t = judged[0]?.targets?.find((x) => x.column === c);
    const scope = judged.length < rows.length ? ` (${judged.map((r) => r.case).join(', ')})` : '';
    return `<figure><figcaption>${esc(c)} against ${SIZE_AXIS}</figcaption>${lineChart({
      label: `${name}: ${c} against ${SIZE_AXIS}`,
      series: [...series].map(([n, points]) => ({ name: n, points })),
      xLabel: SIZE_AXIS,
      yLabel: c,
      reference: t ? { value: t.bound, label: `target ${t.op} ${t.bound}${scope}` } : undefined,
    })}</figure>`;
  });
  return `<div class="sizes">${charts.join('')}</div>`;
}

/** One chart per figure column: a bar per case that measured it. */
function barCharts(name: string, rows: readonly BenchRow[]): string {
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

/** A judged figure measured once (no rounds): its bar against the bound. */
function targetBar(name: string, row: BenchRow): string {
  const v = row.figures.value?.value;
  const t = row.targets?.[0];
  if (v === null || v === undefined || !t) return '';
  const unit = row.figures.value?.unit ?? '';
  return `<figure><figcaption>${esc(label(row))}</figcaption>${barChart({ label: `${name}: ${label(row)}`, unit, bars: [{ label: label(row), value: v, tone: t.pass ? 'good' : 'bad' }], reference: { value: t.bound, label: `target ${t.op} ${t.bound}` } })}</figure>`;
}

function figuresTable(name: string, rows: readonly BenchRow[]): string {
  if (rows.length === 0) return '';
  const body = rows.map((r) => `<tr><td>${esc(r.case)}</td><td class="num">${esc(fmt(r.figures.value?.value, r.figures.value?.unit))}</td><td>${esc(r.note ?? '')}</td></tr>`).join('');
  return `<details><summary>Other figures of ${esc(name)}</summary><table><caption>Figures of ${esc(name)}</caption><thead><tr><th>figure</th><th>median</th><th>note</th></tr></thead><tbody>${body}</tbody></table></details>`;
}

function section(name: string, title: string, rows: readonly BenchRow[]): string {
  const spreads = spreadCharts(name, rows);
  const rest = rows.filter((r) => !r.rounds?.length);
  let body: string;
  if (rows.length > 0 && rows.every(isSummaryRow)) {
    body = rest.filter((r) => r.targets?.length).map((r) => targetBar(name, r)).join('')
      + figuresTable(name, rest.filter((r) => !r.targets?.length));
  } else if (rest.length > 0 && rest.every((r) => sizeOf(r) !== undefined)) {
    body = sizeCharts(name, rest);
  } else {
    body = barCharts(name, rest);
  }
  return `<section><h2>${esc(name)}: ${esc(title)}</h2>${spreads}${body}${targetsTable(name, rows)}</section>`;
}

/** bench.json → an HTML page. */
export function benchReportHtml(report: BenchReport): string {
  const sections = report.benchmarks.map((b) => section(b.name, b.title, b.rows)).join('');
  const facts = `<p class="meta">Node ${esc(report.node)}; ${report.quick ? 'quick run (targets not judged)' : 'full run'}; measured at ${esc(report.at)}.</p>`
    + '<p class="small">Figures measured in interleaved rounds: a dot per round, the whisker from the lowest round to the highest, the tick at the median (green: target met, red: missed), the dashed red line the target. Cost against size: a point per case, a line per kind of tree, both axes from zero.</p>';
  return htmlPage({ title: 'Benchmark report', css: CSS, body: `<h1>Benchmark report</h1>${facts}${sections}` });
}
