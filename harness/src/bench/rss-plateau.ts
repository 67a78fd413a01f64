/**
 * RSS that never plateaus: RSS of second-brain over Streamable HTTP across 10,000
 * `chat_with_gpt41` calls (1,000 in --quick) at 100 connections, sampled after each
 * tenth, with the bare SDK server (anchors/bare-sdk-http-server.ts) doing the same
 * calls in interleaved chunks. Targets: final RSS within idle + 100 MB, and at most 5 %
 * growth over the last half of the run.
 */
import autocannon from 'autocannon';
import { round, target } from './stats.ts';
import { rssOf, startFakeProcess, tempHome, type Child } from './processes.ts';
import { startHttpPair } from './http-pair.ts';
import { benchToken, closeSession, openSession, toolCallBody, type HttpTarget } from './mcp-http.ts';
import type { BenchOptions, BenchResult } from './types.ts';

const MB = 1_048_576;

/** Exactly `amount` calls over `connections` sessions. */
async function chats(t: HttpTarget, amount: number, connections: number, signal: AbortSignal): Promise<{ errors: number }> {
  const sessions: Array<Record<string, string>> = [];
  for (let i = 0; i < connections; i++) sessions.push(await openSession(t, signal));
  let next = 0;
  try {
    const instance = autocannon({
      url: t.url, connections, amount, method: 'POST', idReplacement: true,
      body: toolCallBody('chat_with_gpt41', { instructions: 'Say hello in one line.', session_id: 'rss-[<id>]' }),
      headers: sessions[0],
      setupClient: (client) => { client.setHeaders(sessions[next++ % sessions.length]); },
    }) as unknown as Promise<autocannon.Result> & { stop(): void };
    const onAbort = () => instance.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    const r = await instance;
    signal.removeEventListener('abort', onAbort);
    return { errors: r.errors + r.timeouts + r.non2xx };
  } finally {
    await Promise.all(sessions.map((h) => closeSession(t, h, signal)));
  }
}

export async function run(opts: BenchOptions & { token?: string; total?: number; nodeArgs?: string[] }): Promise<BenchResult> {
  const { signal, log } = opts;
  const total = opts.total ?? (opts.quick ? 1_000 : 10_000);
  const chunks = 10;
  const connections = 100;
  const token = benchToken(opts.token);
  const home = tempHome('sb-bench-rss-');
  const fake = await startFakeProcess({}, signal);
  const children: Child[] = [];
  try {
    const { server, anchor, sb, bare: an } = await startHttpPair(fake, home.dir, token, children, signal, opts.nodeArgs ?? []);
    await new Promise((r) => setTimeout(r, 1_000));
    const idle = { sb: await rssOf(server.proc.pid!), anchor: await rssOf(anchor.proc.pid!) };
    log(`rss-plateau: idle RSS ${round(idle.sb / MB, 1)} MB (anchor ${round(idle.anchor / MB, 1)} MB)`);
    const rounds: Array<{ chunk: number; calls: number; sb_rss_mb: number; anchor_rss_mb: number; fake_p50_ms: number }> = [];
    let errors = 0;
    await fake.serviceTime(signal);
    for (let i = 1; i <= chunks; i++) {
      const per = Math.round(total / chunks);
      // Alternate which side goes first in each chunk.
      for (const side of (i % 2 ? ['sb', 'anchor'] : ['anchor', 'sb'])) {
        const r = await chats(side === 'sb' ? sb : an, per, connections, signal);
        if (side === 'sb') errors += r.errors;
      }
      const st = await fake.serviceTime(signal, 'responses.create');
      const row = {
        chunk: i, calls: per * i,
        sb_rss_mb: round(await rssOf(server.proc.pid!) / MB, 1),
        anchor_rss_mb: round(await rssOf(anchor.proc.pid!) / MB, 1),
        fake_p50_ms: round(st.p50_ms, 2),
      };
      rounds.push(row);
      log(`rss-plateau: ${row.calls} calls: RSS ${row.sb_rss_mb} MB (anchor ${row.anchor_rss_mb} MB), fake p50 ${row.fake_p50_ms} ms`);
    }
    const mid = rounds[Math.floor(chunks / 2) - 1]!;
    const end = rounds[chunks - 1]!;
    const growthLastHalf = end.sb_rss_mb / mid.sb_rss_mb - 1;
    const anchorGrowth = end.anchor_rss_mb / mid.anchor_rss_mb - 1;
    const overIdle = end.sb_rss_mb - idle.sb / MB;
    return {
      name: 'rss-plateau',
      rounds,
      summary: {
        calls: total, connections, errors,
        idle_rss_mb: round(idle.sb / MB, 1),
        final_rss_mb: end.sb_rss_mb,
        over_idle_mb: round(overIdle, 1),
        growth_last_half_pct: round(growthLastHalf * 100, 2),
        anchor_idle_rss_mb: round(idle.anchor / MB, 1),
        anchor_final_rss_mb: end.anchor_rss_mb,
        anchor_growth_last_half_pct: round(anchorGrowth * 100, 2),
        fake_service_p50_ms: round(rounds.map((r) => r.fake_p50_ms).sort((a, b) => a - b)[Math.floor(chunks / 2)]!, 2),
      },
      targets: [
        { ...target(`RSS after ${total} HTTP chats over idle, MB`, overIdle, '<=', 100), unit: 'MB' },
        { ...target('RSS growth over the last half, %', growthLastHalf * 100, '<=', 5), unit: '%' },
      ],
    };
  } finally {
    for (const c of children) await c.stop();
    await fake.stop();
    home.remove();
  }
}
