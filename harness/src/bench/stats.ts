/**
 * Small statistics for interleaved rounds: medians and ranges of per-round ratios, so a
 * shared, noisy machine moves both sides of a ratio together.
 */
import type { BenchSpread, BenchTarget } from './types.ts';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Percentile of `values` (nearest rank), NaN for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** "1.08 [1.03–1.12]": the median and the range. */
export function spread(values: readonly number[], digits = 3): string {
  if (values.length === 0) return 'n/a';
  return `${round(median(values), digits)} [${round(Math.min(...values), digits)}–${round(Math.max(...values), digits)}]`;
}

/** A target judged on the unrounded value; the stored value is rounded for reading only. */
export function target(name: string, value: number, op: '<=' | '>=', bound: number): BenchTarget {
  return { name, value: round(value, 4), bound, op, met: Number.isFinite(value) && (op === '<=' ? value <= bound : value >= bound) };
}

/** The finite values of `perRound`, rounded for reading (bench.json keeps them). */
function roundsOf(perRound: readonly number[]): number[] {
  return perRound.filter((v) => Number.isFinite(v)).map((v) => round(v, 4));
}

/**
 * A target on the median of per-round values, keeping every round (in order) so the
 * report can draw the spread. `unit` is `×` for a ratio against an anchor.
 */
export function medianTarget(name: string, perRound: readonly number[], op: '<=' | '>=', bound: number, unit: string): BenchTarget {
  return { ...target(name, median(perRound.filter((v) => Number.isFinite(v))), op, bound), unit, rounds: roundsOf(perRound) };
}

/** A figure measured in rounds with no target, kept with every round. */
export function roundsSpread(name: string, perRound: readonly number[], unit: string): BenchSpread {
  return { name, unit, rounds: roundsOf(perRound) };
}
