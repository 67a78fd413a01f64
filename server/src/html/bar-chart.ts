/**
 * An inline SVG horizontal bar chart: one bar per figure, an optional spread (low–high
 * whisker) per bar and an optional reference line (a bound, or 1.0 for ratios against an
 * anchor). Plain SVG with `<title>` tooltips, styled by {@link PAGE_CSS}.
 */
import { esc } from './page.ts';

export interface Bar {
  label: string;
  value: number;
  /** The spread around the value, drawn as a whisker (e.g. min and max of repeated runs). */
  low?: number;
  high?: number;
  /** Colour: `ok` (blue, default), `good`, `warn`, `bad`, `neutral`. */
  tone?: 'ok' | 'good' | 'warn' | 'bad' | 'neutral';
  /** Tooltip; defaults to the label and the value. */
  title?: string;
}

export interface BarChartOptions {
  /** Accessible name of the chart. */
  label: string;
  bars: readonly Bar[];
  /** Unit after each value, e.g. `ms`, `×`, `$`. */
  unit?: string;
  /** A vertical reference line, e.g. `{ value: 1, label: 'anchor' }`. */
  reference?: { value: number; label: string };
  /** Width in px (default 720); the chart scales down with its container. */
  widthPx?: number;
  /** Formats a value (default: up to 3 significant digits). */
  format?: (value: number) => string;
}

const LABEL_WIDTH_PX = 200;
const ROW_HEIGHT_PX = 22;
const TOP_PX = 8;
const AXIS_PX = 22;

/** A round step for about `raw` per tick: 1, 2 or 5 times a power of ten. */
export function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

function defaultFormat(v: number): string {
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}

/**
 * @example
 * barChart({ label: 'median call, ratio to the anchor', unit: '×', reference: { value: 1, label: 'anchor' },
 *   bars: [{ label: 'gpt-4.1', value: 1.08, low: 1.01, high: 1.2 }] })
 */
export function barChart(o: BarChartOptions): string {
  const width = o.widthPx ?? 720;
  const fmt = o.format ?? defaultFormat;
  const unit = o.unit ? ` ${o.unit}` : '';
  const maxValue = Math.max(0, ...o.bars.map((b) => Math.max(b.value, b.high ?? b.value)), o.reference?.value ?? 0);
  const step = niceStep(maxValue / 5);
  const top = Math.max(step, Math.ceil(maxValue / step) * step);
  const plot = width - LABEL_WIDTH_PX - 60;
  const x = (v: number) => LABEL_WIDTH_PX + (Math.max(0, v) / top) * plot;
  const height = TOP_PX + o.bars.length * ROW_HEIGHT_PX;
  const ticks: string[] = [];
  for (let t = 0; t <= top + 1e-9; t += step) {
    const tx = x(t).toFixed(1);
    ticks.push(`<line x1="${tx}" y1="${TOP_PX}" x2="${tx}" y2="${height}" class="grid"/><text x="${tx}" y="${height + 14}" class="tick">${esc(fmt(t))}</text>`);
  }
  const rows = o.bars.map((b, i) => {
    const y = TOP_PX + i * ROW_HEIGHT_PX;
    const w = Math.max(1, x(b.value) - x(0));
    const tip = b.title ?? `${b.label}: ${fmt(b.value)}${unit}${b.low !== undefined && b.high !== undefined ? ` (${fmt(b.low)}–${fmt(b.high)}${unit})` : ''}`;
    const spread = b.low !== undefined && b.high !== undefined
      ? `<line x1="${x(b.low).toFixed(1)}" y1="${y + ROW_HEIGHT_PX / 2}" x2="${x(b.high).toFixed(1)}" y2="${y + ROW_HEIGHT_PX / 2}" class="spread"/>`
        + `<line x1="${x(b.low).toFixed(1)}" y1="${y + 6}" x2="${x(b.low).toFixed(1)}" y2="${y + ROW_HEIGHT_PX - 6}" class="spread"/>`
        + `<line x1="${x(b.high).toFixed(1)}" y1="${y + 6}" x2="${x(b.high).toFixed(1)}" y2="${y + ROW_HEIGHT_PX - 6}" class="spread"/>`
      : '';
    const valueX = Math.max(x(b.value), b.high !== undefined ? x(b.high) : 0) + 4;
    return `<g class="bar-row"><text x="${LABEL_WIDTH_PX - 8}" y="${y + 15}" class="row">${esc(b.label)}</text>`
      + `<rect x="${x(0).toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW_HEIGHT_PX - 8}" class="bar ${b.tone ?? 'ok'}"><title>${esc(tip)}</title></rect>`
      + `${spread}<text x="${valueX.toFixed(1)}" y="${y + 15}" class="value">${esc(fmt(b.value) + unit)}</text></g>`;
  });
  const ref = o.reference
    ? `<line x1="${x(o.reference.value).toFixed(1)}" y1="${TOP_PX - 4}" x2="${x(o.reference.value).toFixed(1)}" y2="${height}" class="reference"><title>${esc(`${o.reference.label}: ${fmt(o.reference.value)}${unit}`)}</title></line>`
    : '';
  return `<svg class="chart bar-chart" viewBox="0 0 ${width} ${height + AXIS_PX}" width="${width}" role="img" aria-label="${esc(o.label)}">
${ticks.join('')}${rows.join('')}${ref}
</svg>`;
}
