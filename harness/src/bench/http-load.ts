/**
 * HTTP per-request overhead: second-brain over Streamable HTTP against the SDK's bare
 * server doing the same work (anchors/bare-sdk-http-server.ts), with autocannon at 100
 * connections. A static `list_models` shows the per-request cost of the server's own
 * layers; `chat_with_gpt41` adds one upstream call to the fake (its own process).
 * Rounds interleave server and anchor; ratios are per round, then the median.
 */
import { median, medianTarget, round, spread } from './stats.ts';
import { startFakeProcess, tempHome, type Child } from './processes.ts';
import { startHttpPair } from './http-pair.ts';
import { runLoad, type LoadFigures } from './load.ts';
import { benchToken, callTool, openSession, closeSession, type HttpTarget } from './mcp-http.ts';
import type { BenchOptions, BenchResult } from './types.ts';

export interface HttpLoadOptions extends BenchOptions {
  /** Bearer token the server expects (SECOND_BRAIN_HTTP_TOKEN); sent on every request. */
  token?: string;
  connections?: number;
}

async function loopDelay(t: HttpTarget, signal: AbortSignal): Promise<{ p99_ms: number; max_ms: number }> {
  const h = await openSession(t, signal);
  try {
    const r = await callTool(t, h, 'server_diagnostics', {}, 1, signal);
    const loop = (r.structuredContent as { event_loop?: { p99_ms?: number; max_ms?: number } }).event_loop ?? {};
    return { p99_ms: loop.p99_ms ?? Number.NaN, max_ms: loop.max_ms ?? Number.NaN };
  } finally {
    await closeSession(t, h, signal);
  }
}

export async function run(opts: HttpLoadOptions): Promise<BenchResult> {
  const { signal, log } = opts;
  const token = benchToken(opts.token);
  const connections = opts.connections ?? 100;
  const rounds = opts.quick ? 2 : 5;
  const durationS = opts.quick ? 1.5 : 5;
  const home = tempHome('sb-bench-http-');
  const fake = await startFakeProcess({}, signal);
  const children: Child[] = [];
  try {
    const { sb: sbTarget, bare: anchorTarget } = await startHttpPair(fake, home.dir, token, children, signal);
    const work = [
      { key: 'list', tool: 'list_models', args: {} },
      { key: 'chat', tool: 'chat_with_gpt41', args: { instructions: 'Say hello in one line.', session_id: 'bench-[<id>]' } },
    ];
    // Warm both sides (JIT, connection pools) before measuring.
    for (const w of work) {
      await runLoad(sbTarget, { ...w, connections, durationS: 1, signal });
      await runLoad(anchorTarget, { ...w, connections, durationS: 1, signal });
    }
    await fake.serviceTime(signal);
    const out: Array<Record<string, number>> = [];
    for (let i = 0; i < rounds; i++) {
      for (const w of work) {
        const row: Record<string, number> = { round: i };
        // Alternate which side goes first, so drift on the shared machine hits both.
        const order = i % 2 === 0 ? ['sb', 'anchor'] as const : ['anchor', 'sb'] as const;
        const figs: Partial<Record<'sb' | 'anchor', LoadFigures>> = {};
        for (const side of order) {
          figs[side] = await runLoad(side === 'sb' ? sbTarget : anchorTarget, { ...w, connections, durationS, signal });
          if (side === 'sb') {
            const loop = await loopDelay(sbTarget, signal);
            row[`${w.key}_sb_loop_p99_ms`] = loop.p99_ms;
            row[`${w.key}_sb_loop_max_ms`] = loop.max_ms;
          }
        }
        for (const side of ['sb', 'anchor'] as const) {
          const f = figs[side]!;
          for (const [k, v] of Object.entries(f)) row[`${w.key}_${side}_${k}`] = v;
        }
        row[`${w.key}_rps_ratio`] = figs.sb!.rps / figs.anchor!.rps;
        row[`${w.key}_p99_ratio`] = figs.sb!.p99_ms / Math.max(1, figs.anchor!.p99_ms);
        const st = await fake.serviceTime(signal, 'responses.create');
        row[`${w.key}_fake_p50_ms`] = st.p50_ms;
        row[`${w.key}_fake_p99_ms`] = st.p99_ms;
        log(`http-load round ${i + 1}/${rounds} ${w.tool}: ${round(figs.sb!.rps, 0)} vs ${round(figs.anchor!.rps, 0)} req/s (${round(row[`${w.key}_rps_ratio`]!, 2)}), p99 ${figs.sb!.p99_ms} vs ${figs.anchor!.p99_ms} ms, loop p99 ${row[`${w.key}_sb_loop_p99_ms`]} ms, fake p50 ${round(st.p50_ms, 2)} ms`);
        out.push(row);
      }
    }
    const summary: Record<string, number | string> = { connections, rounds, duration_s: durationS };
    const targets = [];
    for (const w of work) {
      const rows = out.filter((r) => r[`${w.key}_rps_ratio`] !== undefined);
      const col = (k: string) => rows.map((r) => r[k]!).filter((v) => Number.isFinite(v));
      summary[`${w.key}_sb_rps`] = round(median(col(`${w.key}_sb_rps`)), 0);
      summary[`${w.key}_anchor_rps`] = round(median(col(`${w.key}_anchor_rps`)), 0);
      summary[`${w.key}_rps_ratio`] = spread(col(`${w.key}_rps_ratio`));
      summary[`${w.key}_sb_p99_ms`] = median(col(`${w.key}_sb_p99_ms`));
      summary[`${w.key}_anchor_p99_ms`] = median(col(`${w.key}_anchor_p99_ms`));
      summary[`${w.key}_p99_ratio`] = spread(col(`${w.key}_p99_ratio`));
      summary[`${w.key}_sb_loop_p99_ms`] = median(col(`${w.key}_sb_loop_p99_ms`));
      summary[`${w.key}_sb_errors`] = col(`${w.key}_sb_errors`).reduce((a, b) => a + b, 0) + col(`${w.key}_sb_non2xx`).reduce((a, b) => a + b, 0);
      summary[`${w.key}_fake_service_p50_ms`] = round(median(col(`${w.key}_fake_p50_ms`)), 2);
      targets.push(medianTarget(`HTTP ${w.tool} req/s vs bare SDK server`, col(`${w.key}_rps_ratio`), '>=', 0.8, '×'));
      targets.push(medianTarget(`HTTP ${w.tool} p99 vs bare SDK server`, col(`${w.key}_p99_ratio`), '<=', 1.5, '×'));
      targets.push(medianTarget(`HTTP ${w.tool} server loop delay p99 ms`, col(`${w.key}_sb_loop_p99_ms`), '<=', 20, 'ms'));
    }
    return { name: 'http-load', rounds: out, summary, targets };
  } finally {
    for (const c of children) await c.stop();
    await fake.stop();
    home.remove();
  }
}
