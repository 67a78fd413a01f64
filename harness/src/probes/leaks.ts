import type { Evidence } from './evidence.ts';
import { info, judged } from './measurement.ts';
import type { Measurement } from './measurement.ts';

/**
 * Leaks after the work ended (the "alive" rule and KI-02, KI-08, KI-10): in-flight
 * operations the server still reports, descriptors the process gained since its
 * baseline, and the RSS trend across repeats.
 */
export interface LeakBounds {
  /** In-flight operations left after the scenario (server_diagnostics itself excluded). Default 0. */
  maxInflight?: number;
  /** Open descriptors gained between the baseline and the end, same process. Default 20. */
  maxFdGrowth?: number;
  /** RSS growth from the first to the last sample of one process. No bound by default. */
  maxRssGrowthBytes?: number;
  reason?: string;
}

/** Sockets in a keep-alive pool and lazily opened files come and go; more than this is a leak. */
export const DEFAULT_MAX_FD_GROWTH = 20;

export function leaksProbe(ev: Evidence, bounds: LeakBounds = {}): Measurement[] {
  const out: Measurement[] = [];
  const final = [...ev.diagnostics].reverse().find((d) => d.label === 'end' && d.data);
  if (!final) {
    out.push(info('leaks', 'in-flight after scenario', null, 'count', 'server_diagnostics gave no figures'));
  } else {
    const inflight = Array.isArray(final.data!.inflight) ? (final.data!.inflight as Array<{ tool?: string; phase?: string; age_ms?: number }>) : [];
    const left = inflight.filter((c) => c.tool !== 'server_diagnostics');
    out.push(
      judged('leaks', 'in-flight after scenario', left.length, 'count', { op: '<=', value: bounds.maxInflight ?? 0 }, left.length ? { note: left.map((c) => `${c.tool} in ${c.phase} for ${c.age_ms} ms`).join(', ') } : {}),
    );
  }
  const last = ev.processSamples.at(-1);
  const base = last ? ev.processSamples.find((s) => s.generation === last.generation && s.label === 'baseline') : undefined;
  if (last && base && last.openFds !== null && base.openFds !== null) {
    out.push(judged('leaks', 'open descriptors gained', last.openFds - base.openFds, 'count', { op: '<=', value: bounds.maxFdGrowth ?? DEFAULT_MAX_FD_GROWTH }, { note: `${base.openFds} → ${last.openFds}` }));
  } else {
    out.push(info('leaks', 'open descriptors gained', null, 'count', 'no /proc figures for the server process'));
  }
  const series = last ? ev.processSamples.filter((s) => s.generation === last.generation && s.rssBytes !== null) : [];
  if (series.length >= 2) {
    const growth = series.at(-1)!.rssBytes! - series[0]!.rssBytes!;
    out.push(
      bounds.maxRssGrowthBytes !== undefined
        ? judged('leaks', 'RSS growth', growth, 'bytes', { op: '<=', value: bounds.maxRssGrowthBytes }, { note: rssTrend(series.map((s) => s.rssBytes!)) })
        : info('leaks', 'RSS growth', growth, 'bytes', rssTrend(series.map((s) => s.rssBytes!))),
    );
  }
  return out;
}

/** Least-squares slope per sample, as a short note ("+1.2 MiB per sample over 5 samples"). */
function rssTrend(values: number[]): string {
  const n = values.length;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  const slope = den ? num / den : 0;
  return `${slope >= 0 ? '+' : ''}${(slope / 1048576).toFixed(2)} MiB per sample over ${n} samples`;
}
