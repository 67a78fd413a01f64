/**
 * Runs benchmarks (`npm run bench`): each chosen module in turn, one table per benchmark on
 * stdout, and every row with its figures and targets in `<reportDir>/bench.json`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCHMARKS } from './registry.ts';
import { benchReportHtml } from './report-html.ts';
import type { BenchRow, Benchmark } from './types.ts';

export interface RunBenchOptions {
  quick: boolean;
  only?: string[];
  filter?: string;
  reportDir: string;
  repoRoot: string;
  write: (text: string) => void;
  log: (line: string) => void;
  signal: AbortSignal;
}

function cell(v: number | null): string {
  if (v === null) return '—';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** A Markdown table: one line per case, one column per figure, then the targets missed. */
export function formatTable(b: Benchmark, rows: readonly BenchRow[]): string {
  if (rows.length === 0) return `## ${b.name}: no cases run\n`;
  const columns = Object.keys(rows[0]!.figures);
  const lines = [`## ${b.name}: ${b.title}`, '', `| case | ${columns.join(' | ')} | targets |`, `|---|${columns.map(() => '---:').join('|')}|---|`];
  for (const r of rows) {
    const missed = (r.targets ?? []).filter((t) => !t.pass).map((t) => `${t.column} ${t.op} ${t.bound} missed`);
    const verdict = r.targets?.length ? (missed.length ? missed.join('; ') : 'all met') : (r.note ?? '');
    lines.push(`| ${r.case} | ${columns.map((c) => cell(r.figures[c]?.value ?? null)).join(' | ')} | ${verdict} |`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Returns 0 when every target was met, 1 otherwise, 2 for an unknown benchmark name.
 * `--quick` runs are too short to judge targets (they keep the benchmark code from
 * rotting): their misses are printed but the exit code stays 0.
 */
export async function runBench(o: RunBenchOptions): Promise<number> {
  const chosen = o.only?.length ? BENCHMARKS.filter((b) => o.only!.includes(b.name)) : [...BENCHMARKS];
  const unknown = (o.only ?? []).filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length) {
    o.write(`Unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`);
    return 2;
  }
  const report: Array<{ name: string; title: string; rows: BenchRow[] }> = [];
  let missed = 0;
  for (const b of chosen) {
    const rows = await b.run({ quick: o.quick, filter: o.filter, log: o.log, repoRoot: o.repoRoot, signal: o.signal });
    report.push({ name: b.name, title: b.title, rows });
    missed += rows.flatMap((r) => r.targets ?? []).filter((t) => !t.pass).length;
    o.write(`${formatTable(b, rows)}\n`);
  }
  await mkdir(o.reportDir, { recursive: true });
  const doc = { quick: o.quick, at: new Date().toISOString(), node: process.version, benchmarks: report };
  await writeFile(join(o.reportDir, 'bench.json'), `${JSON.stringify(doc, null, 2)}\n`);
  await writeFile(join(o.reportDir, 'bench.html'), benchReportHtml(doc));
  o.write(`bench.json written to ${o.reportDir}\n`);
  o.write(`bench.html written to ${join(o.reportDir, 'bench.html')}\n`);
  return missed === 0 || o.quick ? 0 : 1;
}
