/**
 * The benchmark framework's contract. A benchmark is one module in `harness/src/bench/`
 * exporting a `Benchmark`: it runs its cases and returns rows of measured figures. The
 * runner (`run-bench.ts`) runs the chosen ones, prints one table per benchmark and writes
 * every row to `reports/bench/bench.json`. Other benchmarks (HTTP load, stdio overhead
 * against a direct SDK call) are added as modules and listed in `registry.ts`.
 */

/** A measured figure: a number with its unit, or null when it could not be measured. */
export interface Figure {
  value: number | null;
  unit: string;
}

/** One case of a benchmark: its label and figures by column name, in column order. */
export interface BenchRow {
  case: string;
  figures: Record<string, Figure>;
  /** Targets this row is held to: a column, a comparison, a bound, and the verdict. */
  targets?: Array<{ column: string; op: '<' | '<=' | '>=' | '=='; bound: number; pass: boolean }>;
  note?: string;
  /**
   * Every round's value of the `value` figure, in the order the rounds ran, when that
   * figure is the median of interleaved rounds: the page draws it with its spread.
   */
  rounds?: number[];
  /** The benchmark's own full result (every round), kept in bench.json. */
  raw?: unknown;
}

export interface BenchOptions {
  /** A few seconds per benchmark (CI): small cases only. */
  quick: boolean;
  /** Only cases whose label contains this text (e.g. "50,000 tiny"); all when absent. */
  filter?: string;
  /** Progress lines for the person running it (stderr). */
  log: (line: string) => void;
  /** The repository root (where `server/src/main.ts` lives). */
  repoRoot: string;
  signal: AbortSignal;
}

export interface Benchmark {
  /** Short id used with `--only`, e.g. `scale`. */
  name: string;
  title: string;
  run(options: BenchOptions): Promise<BenchRow[]>;
}

export function figure(value: number | null, unit: string): Figure {
  return { value: value === null || !Number.isFinite(value) ? null : value, unit };
}

/** One target of a round-based benchmark: `value op bound`, and whether it held. */
export interface BenchTarget {
  name: string;
  value: number;
  bound: number;
  op: '<=' | '>=';
  met: boolean;
  /** Unit of the value and the bound: `×` for a ratio against an anchor, `ms`, `MB`, `%`. */
  unit?: string;
  /** Every round's value when `value` is their median ({@link BenchResult.rounds} order). */
  rounds?: number[];
}

/** A figure measured in rounds that no target judges (e.g. a second ratio beside the judged one). */
export interface BenchSpread {
  name: string;
  unit: string;
  /** Every round's value; the row shows their median. */
  rounds: number[];
}

/**
 * What a round-based benchmark (server against an anchor, interleaved) returns; the
 * registry turns it into rows (`roundsBenchmark` in `registry.ts`).
 */
export interface BenchResult {
  name: string;
  /** Every round's raw figures, in the order they ran. */
  rounds: Array<Record<string, number>>;
  /** Medians, ratios and their ranges, the fake's service time, machine facts. */
  summary: Record<string, number | string>;
  targets: BenchTarget[];
  /** Other figures measured in rounds, shown with their spread beside the targets. */
  spreads?: BenchSpread[];
}

/** A round-based benchmark module: `export async function run(opts)`. */
export type BenchRun = (opts: BenchOptions) => Promise<BenchResult>;
