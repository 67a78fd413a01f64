/**
 * A probe's output: one figure, the bound it is held to, and the verdict. Probes never
 * throw on a bad figure; they report it, so one run shows everything that is wrong.
 */

export interface Bound {
  op: '<' | '<=' | '==' | '>=' | '>';
  value: number;
}

/** `not-judged`: a latency that missed its bound while the machine itself was too busy to tell (see reference/judging.ts). */
export type Verdict = 'pass' | 'fail' | 'info' | 'skip' | 'not-judged';

export interface Measurement {
  /** The probe that produced it: `responsive`, `cancellation`, `recovery`, … */
  probe: string;
  /** What was measured, e.g. `ping max`. */
  metric: string;
  /** The figure; null when it could not be measured (then `note` says why). */
  value: number | null;
  unit: 'ms' | 'count' | 'bytes' | 'ratio' | 'bool';
  bound?: Bound;
  verdict: Verdict;
  /**
   * True for durations that stand for catalogue time compressed by the scenario's time
   * scale; the report shows them next to the real-world equivalent.
   */
  scaled?: boolean;
  /** Why a bound was changed from the common one, or why a figure is missing. */
  note?: string;
  /**
   * For a latency judged on its excess over the reference process (`value` is the
   * excess): the server's absolute figure, and the reference's over the same window.
   */
  serverValue?: number | null;
  referenceValue?: number | null;
  /**
   * For a call's duration judged on the server's own time (`value` is wall time less
   * this): how long the server's event-loop thread was ready to run but waited for a CPU
   * during the call, the machine's share (`reference/run-queue.ts`). `serverValue` holds
   * the wall time.
   */
  cpuWaitMs?: number;
}

export function meets(value: number, bound: Bound): boolean {
  switch (bound.op) {
    case '<':
      return value < bound.value;
    case '<=':
      return value <= bound.value;
    case '==':
      return value === bound.value;
    case '>=':
      return value >= bound.value;
    case '>':
      return value > bound.value;
  }
}

/** A measurement held to `bound`; a null value fails unless `missing` says it may be skipped. */
export function judged(
  probe: string,
  metric: string,
  value: number | null,
  unit: Measurement['unit'],
  bound: Bound,
  extra: { scaled?: boolean; note?: string; missing?: 'skip' | 'fail' } = {},
): Measurement {
  const verdict: Verdict = value === null ? (extra.missing ?? 'fail') : meets(value, bound) ? 'pass' : 'fail';
  return { probe, metric, value, unit, bound, verdict, ...(extra.scaled ? { scaled: true } : {}), ...(extra.note ? { note: extra.note } : {}) };
}

/** A figure reported without a bound. */
export function info(probe: string, metric: string, value: number | null, unit: Measurement['unit'], note?: string, scaled?: boolean): Measurement {
  return { probe, metric, value, unit, verdict: 'info', ...(scaled ? { scaled: true } : {}), ...(note ? { note } : {}) };
}

/** The p-th percentile (0–100) by nearest rank; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function round(value: number | null, digits = 1): number | null {
  if (value === null || !Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
