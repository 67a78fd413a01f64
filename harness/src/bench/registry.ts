import { scaleBenchmark } from './scale.ts';
import { run as httpLoad } from './http-load.ts';
import { run as stdioOverhead } from './stdio-overhead.ts';
import { run as memoryGrowth } from './memory-growth.ts';
import { run as rssPlateau } from './rss-plateau.ts';
import { median, spread } from './stats.ts';
import { figure, type BenchRow, type BenchRun, type Benchmark } from './types.ts';

/**
 * Wraps a round-based benchmark (server against an anchor, interleaved rounds) as rows:
 * one per target with its measured value, bound and per-round values, one per other
 * figure measured in rounds (with its rounds), then one per summary figure. The whole
 * result, every round included, rides on the first row into bench.json.
 */
export function roundsBenchmark(name: string, title: string, run: BenchRun): Benchmark {
  return {
    name, title,
    async run(options) {
      const result = await run(options);
      const rows: BenchRow[] = result.targets.map((t) => ({
        case: `target: ${t.name}`,
        figures: { value: figure(t.value, t.unit ?? ''), bound: figure(t.bound, t.unit ?? '') },
        targets: [{ column: 'value', op: t.op, bound: t.bound, pass: t.met }],
        ...(t.rounds ? { rounds: t.rounds } : {}),
      }));
      for (const s of result.spreads ?? []) {
        rows.push({ case: s.name, figures: { value: figure(median(s.rounds), s.unit), bound: figure(null, s.unit) }, rounds: s.rounds, note: spread(s.rounds) });
      }
      for (const [key, v] of Object.entries(result.summary)) {
        rows.push(typeof v === 'number'
          ? { case: key, figures: { value: figure(v, ''), bound: figure(null, '') } }
          : { case: key, figures: { value: figure(null, ''), bound: figure(null, '') }, note: v });
      }
      if (rows[0]) rows[0].raw = result;
      return rows;
    },
  };
}

/** Every benchmark, in the order `npm run bench` runs them. Add a module here to add one. */
export const BENCHMARKS: readonly Benchmark[] = [
  roundsBenchmark('stdio', 'chat over stdio against a direct openai SDK call (fake latency 50 ms)', stdioOverhead),
  roundsBenchmark('http', 'Streamable HTTP under autocannon against the bare SDK server', httpLoad),
  roundsBenchmark('memory', 'call latency with project memory full against empty', memoryGrowth),
  roundsBenchmark('rss', 'RSS over many HTTP chats', rssPlateau),
  scaleBenchmark,
];
