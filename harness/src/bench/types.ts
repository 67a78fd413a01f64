/**
 * The shape every benchmark module returns, so one runner can print and store them all.
 */

/** One target: `value op bound`, and whether it held. */
export interface BenchTarget {
  name: string;
  value: number;
  bound: number;
  op: '<=' | '>=';
  met: boolean;
}

export interface BenchResult {
  name: string;
  /** Every round's raw figures, in the order they ran. */
  rounds: Array<Record<string, number>>;
  /** Medians, ratios and their ranges, the fake's service time, machine facts. */
  summary: Record<string, number | string>;
  targets: BenchTarget[];
}

export interface BenchOptions {
  /** A few seconds per benchmark (CI), instead of the full measurement. */
  quick: boolean;
  signal: AbortSignal;
  /** One progress line. */
  log: (line: string) => void;
}

/** A benchmark module: `export async function run(opts)`. */
export type BenchRun = (opts: BenchOptions) => Promise<BenchResult>;
