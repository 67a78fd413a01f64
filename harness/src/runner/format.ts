import type { Measurement } from '../probes/index.ts';

/** Shared formatting for the console and the reports. */

export function formatMs(ms: number | null): string {
  if (ms === null || Number.isNaN(ms)) return '—';
  if (!Number.isFinite(ms)) return '∞';
  if (Math.abs(ms) < 1_000) return `${Math.round(ms * 10) / 10} ms`;
  if (Math.abs(ms) < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms - m * 60_000) / 1_000)} s`;
}

export function formatValue(m: Pick<Measurement, 'value' | 'unit'>): string {
  if (m.value === null) return '—';
  switch (m.unit) {
    case 'ms':
      return formatMs(m.value);
    case 'bytes':
      return `${(m.value / 1048576).toFixed(1)} MiB`;
    case 'bool':
      return m.value ? 'yes' : 'no';
    case 'ratio':
      return `${m.value}×`;
    default:
      return Number.isFinite(m.value) ? String(m.value) : '∞';
  }
}

export function formatBoundText(m: Pick<Measurement, 'bound' | 'unit'>): string {
  if (!m.bound) return '';
  if (m.unit === 'bool') return m.bound.value ? 'must be yes' : 'must be no';
  const v = m.unit === 'ms' ? formatMs(m.bound.value) : m.unit === 'bytes' ? `${(m.bound.value / 1048576).toFixed(1)} MiB` : m.unit === 'ratio' ? `${m.bound.value}×` : String(m.bound.value);
  return `${m.bound.op} ${v}`;
}

/** "12 s (≈ 12 min real)" for a duration that stands for compressed catalogue time. */
export function withRealFigure(m: Pick<Measurement, 'value' | 'unit' | 'scaled'>, timeScale: number): string {
  const shown = formatValue(m);
  if (!m.scaled || timeScale === 1 || m.value === null || m.unit !== 'ms') return shown;
  return `${shown} (≈ ${formatMs(m.value * timeScale)} real)`;
}
