/**
 * An inline SVG dot plot of figures measured in repeated rounds: per row, every round as a
 * dot, the min–max range as a whisker, the summary value (the median) as a tick coloured
 * by its target's verdict, and the target bound as a dashed line across the row. An
 * optional reference line spans every row (1 for ratios against an anchor). Plain SVG with
 * `<title>` tooltips, styled by {@link PAGE_CSS}.
 */
import { formatFigure, niceAxis, position } from './axis.ts';
import { esc } from './page.ts';

export interface SpreadRow {
  label: string;
  /** Every round's value, in the order the rounds ran. */
  rounds: readonly number[];
  /** The summary value, usually the median of the rounds. */
  value: number;
  /** The bound the value is held to, and whether it held. */
  target?: { op: string; bound: number; pass: boolean };
}

export interface SpreadChartOptions {
  /** Accessible name of the chart. */
  label: string;
  rows: readonly SpreadRow[];
  /** Unit after each value, e.g. `×`, `ms`. */
  unit?: string;
  /** A vertical line across every row, e.g. `{ value: 1, label: 'anchor' }`. */
  reference?: { value: number; label: string };
  /** Width in px (default 1040); the chart scales down with its container. */
  widthPx?: number;
  /** Width of the row labels in px (default 340). */
  labelWidthPx?: number;
}

const ROW_HEIGHT_PX = 34;
const TOP_PX = 8;
const AXIS_PX = 22;
const SUMMARY_WIDTH_PX = 300;
/** Dots of equal rounds would hide each other: they step up and down by this much. */
const DOT_OFFSETS_PX = [0, -5, 5];

/**
 * @example
 * spreadChart({ label: 'stdio: ratios against the anchor', unit: '×', reference: { value: 1, label: 'anchor' },
 *   rows: [{ label: 'chat p50 vs direct SDK call', rounds: [1.08, 1.19, 1.1], value: 1.1, target: { op: '<=', bound: 1.03, pass: false } }] })
 */
export function spreadChart(o: SpreadChartOptions): string {
  const width = o.widthPx ?? 1040;
  const labelWidth = o.labelWidthPx ?? 340;
  const unit = o.unit ? ` ${o.unit}` : '';
  const all = o.rows.flatMap((r) => [...r.rounds, r.value, ...(r.target ? [r.target.bound] : [])]);
  const axis = niceAxis(o.reference ? [...all, o.reference.value] : all, false);
  const x = position(axis, labelWidth, width - SUMMARY_WIDTH_PX);
  const height = TOP_PX + o.rows.length * ROW_HEIGHT_PX;
  const ticks = axis.ticks.map((t) => {
    const tx = x(t).toFixed(1);
    return `<line x1="${tx}" y1="${TOP_PX}" x2="${tx}" y2="${height}" class="grid"/><text x="${tx}" y="${height + 14}" class="tick">${esc(formatFigure(t))}</text>`;
  });
  const rows = o.rows.map((r, i) => {
    const top = TOP_PX + i * ROW_HEIGHT_PX;
    const cy = top + ROW_HEIGHT_PX / 2;
    const finite = r.rounds.filter((v) => Number.isFinite(v));
    const lo = finite.length ? Math.min(...finite) : r.value;
    const hi = finite.length ? Math.max(...finite) : r.value;
    const whisker = finite.length > 1
      ? `<g class="whisker"><title>${esc(`${r.label}: rounds from ${formatFigure(lo)} to ${formatFigure(hi)}${unit}`)}</title>`
        + `<line x1="${x(lo).toFixed(1)}" y1="${cy}" x2="${x(hi).toFixed(1)}" y2="${cy}" class="spread"/>`
        + `<line x1="${x(lo).toFixed(1)}" y1="${cy - 6}" x2="${x(lo).toFixed(1)}" y2="${cy + 6}" class="spread"/>`
        + `<line x1="${x(hi).toFixed(1)}" y1="${cy - 6}" x2="${x(hi).toFixed(1)}" y2="${cy + 6}" class="spread"/></g>`
      : '';
    const dots = finite.map((v, k) => `<circle cx="${x(v).toFixed(1)}" cy="${cy + DOT_OFFSETS_PX[k % DOT_OFFSETS_PX.length]!}" r="3.5" class="dot"><title>${esc(`${r.label}, round ${k + 1}: ${formatFigure(v)}${unit}`)}</title></circle>`).join('');
    const tone = r.target ? (r.target.pass ? 'good' : 'bad') : 'ok';
    const median = `<line x1="${x(r.value).toFixed(1)}" y1="${cy - 10}" x2="${x(r.value).toFixed(1)}" y2="${cy + 10}" class="median ${tone}"><title>${esc(`${r.label}: median ${formatFigure(r.value)}${unit}`)}</title></line>`;
    const target = r.target
      ? `<line x1="${x(r.target.bound).toFixed(1)}" y1="${top + 2}" x2="${x(r.target.bound).toFixed(1)}" y2="${top + ROW_HEIGHT_PX - 2}" class="target"><title>${esc(`target ${r.target.op} ${formatFigure(r.target.bound)}${unit}`)}</title></line>`
      : '';
    const range = finite.length > 1 ? ` [${formatFigure(lo)}–${formatFigure(hi)}]` : '';
    const verdict = r.target ? `, target ${r.target.op} ${formatFigure(r.target.bound)} ${r.target.pass ? 'met' : 'missed'}` : '';
    return `<g class="spread-row"><text x="${labelWidth - 10}" y="${cy + 4}" class="row">${esc(r.label)}</text>${target}${whisker}${dots}${median}`
      + `<text x="${width - SUMMARY_WIDTH_PX + 10}" y="${cy + 4}" class="value${r.target && !r.target.pass ? ' missed' : ''}">${esc(`${formatFigure(r.value)}${unit}${range}${verdict}`)}</text></g>`;
  });
  const ref = o.reference
    ? `<line x1="${x(o.reference.value).toFixed(1)}" y1="${TOP_PX - 4}" x2="${x(o.reference.value).toFixed(1)}" y2="${height}" class="anchor"><title>${esc(`${o.reference.label}: ${formatFigure(o.reference.value)}${unit}`)}</title></line>`
    : '';
  return `<svg class="chart spread-chart" viewBox="0 0 ${width} ${height + AXIS_PX}" width="${width}" role="img" aria-label="${esc(o.label)}">
${ticks.join('')}${ref}${rows.join('')}
</svg>`;
}
