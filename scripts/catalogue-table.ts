/**
 * Prints the README's catalogue table from chaos reports: one row per scenario, with the
 * figures it measured against their bounds (worst over the given runs) and the defect it
 * was proven against.
 *
 *   node scripts/catalogue-table.ts reports/chaos/in-process/report.json reports/chaos/loopback/report.json
 */
import { readFileSync } from 'node:fs';

interface Measurement { probe: string; metric: string; value: number; unit: string; bound?: { op: string; value: number }; verdict: string }
interface ScenarioRun {
  key: string; id: string; title: string; mode: string; verdict: string; measurements: Measurement[];
  provenAgainst?: { defect?: string; toy?: string };
  evidence?: { marks?: Array<{ label: string; kind: string }> };
}

const COMMON = new Set(['scenario', 'alive', 'bounded', 'leaks', 'data', 'secrets', 'responsive']);

function fmt(m: Measurement): string {
  const v = m.unit === 'ms' ? `${Math.round(m.value * 10) / 10} ms` : m.unit === 'bytes' ? `${Math.round(m.value / 1048576)} MiB` : m.unit === 'ratio' || m.unit === '×' ? `${m.value.toFixed(2)}×` : `${Math.round(m.value * 100) / 100}${m.unit && m.unit !== 'count' && m.unit !== 'bool' ? ` ${m.unit}` : ''}`;
  return m.bound ? `${m.metric} ${v} (${m.bound.op} ${m.bound.value})` : `${m.metric} ${v}`;
}

const worse = (a: Measurement, b: Measurement) => (a.bound && (a.bound.op === '<' || a.bound.op === '<=') ? (b.value > a.value ? b : a) : (b.value < a.value ? b : a));

const runs: ScenarioRun[] = process.argv.slice(2).flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as { scenarios: ScenarioRun[] }).scenarios);
const byKey = new Map<string, ScenarioRun[]>();
for (const r of runs) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);

const out = ['| id | scenario | modes | measured (worst run) against bound | proven against |', '|---|---|---|---|---|'];
for (const [key, rs] of [...byKey.entries()].sort(([a], [b]) => a.localeCompare(b))) {
  const figures = new Map<string, Measurement>();
  for (const r of rs) {
    for (const m of r.measurements) {
      if (!m.bound || (COMMON.has(m.probe) && m.metric !== 'ping max')) continue;
      const k = `${m.probe}:${m.metric}`;
      figures.set(k, figures.has(k) ? worse(figures.get(k)!, m) : m);
    }
  }
  const ping = [...figures.entries()].find(([k]) => k === 'responsive:ping max');
  // Scenario checks written as `run` steps record their figures as notes on the timeline.
  const notes = [...new Set(rs.flatMap((r) => (r.evidence?.marks ?? []).filter((m) => m.kind === 'note' && /bound|≤|</.test(m.label)).map((m) => `${m.label} [${r.mode}]`)))];
  const probes = [...figures.entries()].filter(([k, m]) => k !== 'responsive:ping max' && !(m.unit === 'bool' && m.probe === 'calls')).map(([, m]) => fmt(m));
  const specific = [...probes, ...notes].slice(0, 3);
  const modes = [...new Set(rs.map((r) => r.mode))].join(', ');
  const verdicts = rs.every((r) => r.verdict === 'pass') ? '' : ' **(failed a run)**';
  const proven = rs[0]!.provenAgainst?.defect ?? (rs[0]!.provenAgainst?.toy ? `toy: ${rs[0]!.provenAgainst.toy}` : '—');
  out.push(`| ${rs[0]!.id} | ${key.slice(rs[0]!.id.length + 1)}: ${rs[0]!.title}${verdicts} | ${modes} | ${[...specific, ...(ping ? [fmt(ping[1])] : [])].join('; ').replaceAll('|', '/')} | \`${proven}\` |`);
}
process.stdout.write(`${out.join('\n')}\n`);
