import type { Measurement } from '../probes/index.ts';

/** Shared formatting for the console, the reports and the scenarios' own figures. */

/** Decimals a ratio shows at least: enough to see a 0.1 % margin (`1.101` against `<= 1.1`). */
export const RATIO_MIN_DIGITS = 3;
/** Decimals a ratio shows at most, when fewer would print it equal to a bound it is not equal to. */
const RATIO_MAX_DIGITS = 6;

/**
 * A ratio with enough decimals to see its margin to `bound`: at least three, more while
 * the rounded figure would read as equal to the bound although it is not (185/168 prints
 * `1.101`, never `1.1`). Trailing zeros are kept so every figure of a table lines up.
 */
export function formatRatio(value: number, bound?: number): string {
  if (!Number.isFinite(value)) return value > 0 ? '∞' : String(value);
  let digits = RATIO_MIN_DIGITS;
  while (bound !== undefined && digits < RATIO_MAX_DIGITS && value !== bound && Number(value.toFixed(digits)) === bound) digits += 1;
  return value.toFixed(digits);
}

/**
 * A figure in its unit for the scenarios' own judgements (`Figures` in scenarios): ratios
 * (`x`) through formatRatio, small numbers with two decimals, others with one.
 */
export function formatFigure(value: number, unit: string, bound?: number): string {
  if (unit === 'x' || unit === 'ratio') return formatRatio(value, bound);
  return String(Math.abs(value) < 10 ? Math.round(value * 100) / 100 : Math.round(value * 10) / 10);
}

export function formatMs(ms: number | null): string {
  if (ms === null || Number.isNaN(ms)) return '—';
  if (!Number.isFinite(ms)) return '∞';
  if (Math.abs(ms) < 1_000) return `${Math.round(ms * 10) / 10} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms - m * 60_000) / 1_000)} s`;
}

export function formatValue(m: Pick<Measurement, 'value' | 'unit'> & Partial<Pick<Measurement, 'bound' | 'serverValue' | 'referenceValue' | 'cpuWaitMs'>>): string {
  const shown = formatPlain(m);
  if (m.serverValue === undefined || m.unit !== 'ms') return shown;
  // A duration judged on the server's own time: the wall time and the machine's share beside it.
  if (m.cpuWaitMs !== undefined) return `${shown} less CPU wait (wall ${formatMs(m.serverValue)}, waited for a CPU ${formatMs(m.cpuWaitMs)})`;
  // A latency judged on its excess over the reference: keep the absolute figures in sight.
  return `${shown} excess (server ${formatMs(m.serverValue)}, reference ${formatMs(m.referenceValue ?? null)})`;
}

function formatPlain(m: Pick<Measurement, 'value' | 'unit'> & Partial<Pick<Measurement, 'bound'>>): string {
  if (m.value === null) return '—';
  switch (m.unit) {
    case 'ms':
      return formatMs(m.value);
    case 'bytes':
      return `${(m.value / 1048576).toFixed(1)} MiB`;
    case 'bool':
      return m.value ? 'yes' : 'no';
    case 'ratio':
      return `${formatRatio(m.value, m.bound?.value)}×`;
    default:
      return Number.isFinite(m.value) ? String(m.value) : '∞';
  }
}

export function formatBoundText(m: Pick<Measurement, 'bound' | 'unit'>): string {
  if (!m.bound) return '';
  if (m.unit === 'bool') return m.bound.value ? 'must be yes' : 'must be no';
  const v = m.unit === 'ms' ? formatMs(m.bound.value) : m.unit === 'bytes' ? `${(m.bound.value / 1048576).toFixed(1)} MiB` : m.unit === 'ratio' ? `${m.bound.value.toFixed(Math.max(2, decimalsOf(m.bound.value)))}×` : String(m.bound.value);
  return `${m.bound.op} ${v}`;
}

/** "12 s (≈ 12 min real)" for a duration that stands for compressed catalogue time. */
export function withRealFigure(m: Pick<Measurement, 'value' | 'unit' | 'scaled'>, timeScale: number): string {
  const shown = formatValue(m);
  if (!m.scaled || timeScale === 1 || m.value === null || m.unit !== 'ms') return shown;
  return `${shown} (≈ ${formatMs(m.value * timeScale)} real)`;
}

function decimalsOf(n: number): number {
  const text = String(n);
  const dot = text.indexOf('.');
  return dot === -1 ? 0 : text.length - dot - 1;
}
