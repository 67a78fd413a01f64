/**
 * A linear axis for the SVG charts: a round range around the data, its ticks, and the
 * mapping from a value to a pixel position. Hand-written (about twenty lines) rather than
 * taking a charting library: the pages are strings of plain SVG, and the bar chart
 * already rounds its ticks the same way ({@link niceStep}).
 */
import { niceStep } from './bar-chart.ts';

export interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
}

/**
 * A round range holding every value, from zero when `fromZero` (so growth in proportion
 * to size reads as a line through the origin), and about five ticks across it.
 *
 * @example niceAxis([1.08, 1.19, 1.03], false) // { lo: 1, hi: 1.2, ticks: [1, 1.05, 1.1, 1.15, 1.2] }
 */
export function niceAxis(values: readonly number[], fromZero: boolean): Axis {
  const finite = values.filter((v) => Number.isFinite(v));
  let min = fromZero ? Math.min(0, ...finite) : Math.min(...finite);
  let max = Math.max(fromZero ? 0 : min, ...finite);
  if (!Number.isFinite(min)) { min = 0; max = 1; }
  if (max === min) {
    // One value (or all zero): widen around it so it sits inside the range.
    const pad = Math.abs(min) * 0.1 || 1;
    if (!fromZero) min -= pad;
    max += pad;
  }
  const step = niceStep((max - min) / 5);
  const lo = Number((Math.floor(min / step + 1e-9) * step).toPrecision(12));
  const hi = Number((Math.ceil(max / step - 1e-9) * step).toPrecision(12));
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-6; i++) ticks.push(Number((lo + i * step).toPrecision(12)));
  return { lo, hi: hi > lo ? hi : lo + step, ticks };
}

/** Maps a value on `axis` to a pixel between `from` (the axis's low end) and `to`. */
export function position(axis: Axis, from: number, to: number): (value: number) => number {
  return (v) => from + ((v - axis.lo) / (axis.hi - axis.lo)) * (to - from);
}

/** A figure for a tick or a label: `50,000`, `325`, `1.08`, `0.0042`. */
export function formatFigure(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1_000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}
