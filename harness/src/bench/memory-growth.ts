/**
 * Cost that grows with history: every chat call attaches `file_search` over the project
 * memory store, which gains an entry per answered call. Sequential `chat_with_gpt41`
 * latency on a server whose memory holds 5,000 entries (500 in --quick) against one
 * whose memory is (nearly) empty, in interleaved rounds, with the fake's service time.
 */
import { median, medianTarget, percentile, round, roundsSpread, spread } from './stats.ts';
import { cpuMsOf, serverEnv, startFakeProcess, startHttpServer, tempHome, type Child, type FakeProcess } from './processes.ts';
import { benchToken, callTool, closeSession, openSession, type HttpTarget } from './mcp-http.ts';
import type { BenchOptions, BenchResult } from './types.ts';

interface MemoryFigures { stored: number; dropped: number; failed: number; documents: number; queued: number }

async function memoryStats(t: HttpTarget, headers: Record<string, string>, signal: AbortSignal): Promise<MemoryFigures> {
  const r = await callTool(t, headers, 'server_diagnostics', {}, Date.now(), signal);
  const m = (r.structuredContent as { memory?: Partial<MemoryFigures> }).memory ?? {};
  return { stored: m.stored ?? 0, dropped: m.dropped ?? 0, failed: m.failed ?? 0, documents: m.documents ?? Number.NaN, queued: m.queued ?? 0 };
}

let nextId = 1;
const chatArgs = () => ({ instructions: `What does module ${nextId % 97} do? Answer briefly.`, session_id: `mem-${nextId}` });

/** Sequential calls; returns each call's latency in ms. */
async function sequential(t: HttpTarget, headers: Record<string, string>, n: number, signal: AbortSignal): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await callTool(t, headers, 'chat_with_gpt41', chatArgs(), nextId++, signal);
    out.push(performance.now() - started);
  }
  return out;
}

/** Chats until `entries` memory entries are stored, a few at a time so the queue keeps up. */
async function fill(t: HttpTarget, headers: Record<string, string>, entries: number, log: (l: string) => void, signal: AbortSignal): Promise<MemoryFigures> {
  let stats = await memoryStats(t, headers, signal);
  let lastLog = performance.now();
  while (stats.stored < entries) {
    signal.throwIfAborted();
    // Keep the memory queue short: wait while entries are waiting.
    if (stats.queued > 4) await new Promise((r) => setTimeout(r, 20));
    else await Promise.all(Array.from({ length: 4 }, () => callTool(t, headers, 'chat_with_gpt41', chatArgs(), nextId++, signal)));
    stats = await memoryStats(t, headers, signal);
    if (performance.now() - lastLog > 5_000) { log(`memory-growth: ${stats.stored}/${entries} entries stored (${stats.documents} documents, ${stats.dropped} dropped)`); lastLog = performance.now(); }
  }
  return stats;
}

export async function run(opts: BenchOptions & { entries?: number }): Promise<BenchResult> {
  const { signal, log } = opts;
  const entries = opts.entries ?? (opts.quick ? 500 : 5_000);
  const rounds = opts.quick ? 3 : 6;
  const callsPerRound = opts.quick ? 15 : 40;
  const token = benchToken();
  const fake: FakeProcess = await startFakeProcess({}, signal);
  const homes = [tempHome('sb-bench-mem-full-')];
  const children: Child[] = [];
  try {
    const full = await startHttpServer(serverEnv(fake, homes[0]!.dir, { SECOND_BRAIN_HTTP_TOKEN: token }), signal);
    children.push(full);
    const fullT: HttpTarget = { url: full.url, token };
    const fullH = await openSession(fullT, signal);
    const fillStarted = performance.now();
    const filled = await fill(fullT, fullH, entries, log, signal);
    log(`memory-growth: ${filled.stored} entries stored in ${round((performance.now() - fillStarted) / 1000, 1)} s; ${filled.documents} documents in the store`);
    const out: Array<Record<string, number>> = [];
    for (let i = 0; i < rounds; i++) {
      // A fresh, empty memory each round: the baseline never accumulates history.
      const home = tempHome('sb-bench-mem-empty-');
      homes.push(home);
      const empty = await startHttpServer(serverEnv(fake, home.dir, { SECOND_BRAIN_HTTP_TOKEN: token }), signal);
      children.push(empty);
      const emptyT: HttpTarget = { url: empty.url, token };
      const emptyH = await openSession(emptyT, signal);
      await sequential(emptyT, emptyH, 3, signal);
      await sequential(fullT, fullH, 3, signal);
      await fake.serviceTime(signal);
      const row: Record<string, number> = { round: i };
      for (const side of (i % 2 ? ['empty', 'full'] : ['full', 'empty'])) {
        const pid = (side === 'full' ? full : empty).proc.pid!;
        const cpu0 = await cpuMsOf(pid);
        const lat = await sequential(side === 'full' ? fullT : emptyT, side === 'full' ? fullH : emptyH, callsPerRound, signal);
        // Server CPU per call: steadier than latency on a machine shared with other work.
        row[`${side}_cpu_ms_per_call`] = (await cpuMsOf(pid) - cpu0) / callsPerRound;
        row[`${side}_p50_ms`] = median(lat);
        row[`${side}_p99_ms`] = percentile(lat, 99);
        const st = await fake.serviceTime(signal, 'responses.create');
        row[`${side}_fake_p50_ms`] = st.p50_ms;
      }
      const fullStats = await memoryStats(fullT, fullH, signal);
      row.full_entries = fullStats.stored;
      row.full_documents = fullStats.documents;
      row.ratio = row.full_p50_ms! / row.empty_p50_ms!;
      row.cpu_ratio = row.full_cpu_ms_per_call! / row.empty_cpu_ms_per_call!;
      log(`memory-growth round ${i + 1}/${rounds}: p50 ${round(row.full_p50_ms!, 1)} ms with ${fullStats.stored} entries (${fullStats.documents} documents) vs ${round(row.empty_p50_ms!, 1)} ms empty (${round(row.ratio, 3)}; server CPU ${round(row.cpu_ratio, 3)}), fake p50 ${round(row.full_fake_p50_ms!, 2)} / ${round(row.empty_fake_p50_ms!, 2)} ms`);
      out.push(row);
      await closeSession(emptyT, emptyH, signal);
      await empty.stop();
      children.pop();
    }
    const col = (k: string) => out.map((r) => r[k]!);
    return {
      name: 'memory-growth',
      rounds: out,
      summary: {
        entries_target: entries,
        entries_stored: filled.stored,
        entries_dropped_while_filling: filled.dropped,
        documents: filled.documents,
        fill_s: round((performance.now() - fillStarted) / 1000, 1),
        full_p50_ms: round(median(col('full_p50_ms')), 2),
        empty_p50_ms: round(median(col('empty_p50_ms')), 2),
        ratio: spread(col('ratio')),
        full_cpu_ms_per_call: round(median(col('full_cpu_ms_per_call')), 2),
        empty_cpu_ms_per_call: round(median(col('empty_cpu_ms_per_call')), 2),
        cpu_ratio: spread(col('cpu_ratio')),
        fake_service_p50_ms_full: round(median(col('full_fake_p50_ms')), 2),
        fake_service_p50_ms_empty: round(median(col('empty_fake_p50_ms')), 2),
      },
      targets: [medianTarget(`chat latency with ${entries} memory entries vs none`, col('ratio'), '<=', 1.1, '×')],
      spreads: [roundsSpread(`server CPU per call with ${entries} memory entries vs none`, col('cpu_ratio'), '×')],
    };
  } finally {
    for (const c of children) await c.stop();
    await fake.stop();
    for (const h of homes) h.remove();
  }
}
