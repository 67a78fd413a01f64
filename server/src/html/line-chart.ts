/**
 * An inline SVG line chart of a cost against a size: x and y both start at zero, so a
 * cost that grows in proportion to the size reads as a straight line through the origin.
 * One line per series (points joined in x order), a dot per point with a `<title>`
 * tooltip, an optional horizontal reference line (a bound), a legend when there is more
 * than one series. Styled by {@link PAGE_CSS}.
 */
import { formatFigure, niceAxis, position } from './axis.ts';
import { esc } from './page.ts';

export interface LinePoint {
  x: number;
  y: number;
  /** Tooltip; defaults to the series name and both values. */
  title?: string;
}

export interface LineSeries {
  name: string;
  points: readonly LinePoint[];
}

export interface LineChartOptions {
  /** Accessible name of the chart. */
  label: string;
  series: readonly LineSeries[];
  /** Axis titles, with their units, e.g. `files`, `wall s`. */
  xLabel: string;
  yLabel: string;
  /** A horizontal line, e.g. `{ value: 600, label: 'target <= 600' }`. */
  reference?: { value: number; label: string };
  /** Size in px (default 440 × 250); the chart scales down with its container. */
  widthPx?: number;
  heightPx?: number;
}

const LEFT_PX = 52;
const RIGHT_PX = 24;
const TOP_PX = 24;
const BOTTOM_PX = 36;
/** Colour classes, one per series in order (`s0`…); the palette repeats after four. */
const SERIES_CLASSES = ['s0', 's1', 's2', 's3'];

/**
 * @example
 * lineChart({ label: 'scale: wall s against files', xLabel: 'files', yLabel: 'wall s',
 *   series: [{ name: 'tiny', points: [{ x: 1_000, y: 2.4 }, { x: 10_000, y: 2.6 }, { x: 50_000, y: 6.4 }] }] })
 */
export function lineChart(o: LineChartOptions): string {
  const width = o.widthPx ?? 440;
  const height = o.heightPx ?? 250;
  const points = o.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xAxis = niceAxis(points.map((p) => p.x), true);
  const yAxis = niceAxis([...points.map((p) => p.y), ...(o.reference ? [o.reference.value] : [])], true);
  const x = position(xAxis, LEFT_PX, width - RIGHT_PX);
  const y = position(yAxis, height - BOTTOM_PX, TOP_PX);
  const grid = [
    ...yAxis.ticks.map((t) => `<line x1="${LEFT_PX}" y1="${y(t).toFixed(1)}" x2="${width - RIGHT_PX}" y2="${y(t).toFixed(1)}" class="grid"/><text x="${LEFT_PX - 4}" y="${(y(t) + 3).toFixed(1)}" class="tick y">${esc(formatFigure(t))}</text>`),
    ...xAxis.ticks.map((t) => `<line x1="${x(t).toFixed(1)}" y1="${TOP_PX}" x2="${x(t).toFixed(1)}" y2="${height - BOTTOM_PX}" class="grid"/><text x="${x(t).toFixed(1)}" y="${height - BOTTOM_PX + 13}" class="tick">${esc(formatFigure(t))}</text>`),
  ];
  const lines = o.series.map((s, i) => {
    const cls = SERIES_CLASSES[i % SERIES_CLASSES.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    const path = pts.length > 1 ? `<polyline points="${pts.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ')}" class="line ${cls}"/>` : '';
    const dots = pts.map((p) => `<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3.5" class="point ${cls}"><title>${esc(p.title ?? `${s.name}: ${formatFigure(p.y)} ${o.yLabel} at ${formatFigure(p.x)} ${o.xLabel}`)}</title></circle>`).join('');
    return `<g class="series">${path}${dots}</g>`;
  });
  const legend = o.series.length > 1
    ? o.series.map((s, i) => `<circle cx="${LEFT_PX + 6 + i * 90}" cy="10" r="4" class="point ${SERIES_CLASSES[i % SERIES_CLASSES.length]!}"/><text x="${LEFT_PX + 14 + i * 90}" y="14" class="sub">${esc(s.name)}</text>`).join('')
    : '';
  const ref = o.reference
    ? `<line x1="${LEFT_PX}" y1="${y(o.reference.value).toFixed(1)}" x2="${width - RIGHT_PX}" y2="${y(o.reference.value).toFixed(1)}" class="reference"><title>${esc(o.reference.label)}</title></line>`
    : '';
  const titles = `<text x="${width - RIGHT_PX}" y="${height - 4}" class="sub end">${esc(o.xLabel)}</text><text x="${width - RIGHT_PX}" y="14" class="sub end">${esc(o.yLabel)}</text>`;
  return `<svg class="chart line-chart" viewBox="0 0 ${width} ${height}" width="${width}" role="img" aria-label="${esc(o.label)}">
${grid.join('')}${ref}${lines.join('')}${legend}${titles}
</svg>`;
}
