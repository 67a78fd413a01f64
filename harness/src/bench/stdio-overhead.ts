/**
 * Stdio chat overhead: sequential `chat_with_gpt41` calls through second-brain over
 * stdio (the SDK's Client and StdioClientTransport) against the same call made directly
 * with the `openai` SDK (anchors/direct-sdk-call.ts), the fake answering after 50 ms.
 * Blocks of calls alternate between the two; each block's p50 ratio is one round.
 */
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { median, medianTarget, round, spread } from './stats.ts';
import { REPO_ROOT, serverEnv, startFakeProcess, tempHome } from './processes.ts';
import { directSdkCaller } from './anchors/direct-sdk-call.ts';
import type { BenchOptions, BenchResult } from './types.ts';

const FAKE_LATENCY_MS = 50;

export async function run(opts: BenchOptions & { serverEnv?: Record<string, string> }): Promise<BenchResult> {
  const { signal, log } = opts;
  const rounds = opts.quick ? 3 : 8;
  const perBlock = opts.quick ? 10 : 30;
  const home = tempHome('sb-bench-stdio-');
  const fake = await startFakeProcess({}, signal);
  const transport = new StdioClientTransport({
    command: process.execPath, args: [join(REPO_ROOT, 'server/src/main.ts')], cwd: REPO_ROOT,
    env: serverEnv(fake, home.dir, opts.serverEnv), stderr: 'ignore',
  });
  const client = new Client({ name: 'sb-bench', version: '0' });
  try {
    await client.connect(transport);
    await fake.addFaults([{ route: 'responses.create', fault: { type: 'latency', ms: FAKE_LATENCY_MS } }], signal);
    const direct = directSdkCaller(fake.baseUrls.openai);
    let n = 0;
    const viaServer = async () => {
      const r = await client.callTool({ name: 'chat_with_gpt41', arguments: { instructions: `Say hello ${n}.`, session_id: `stdio-${n++}` } }, undefined, { signal });
      if (r.isError) throw new Error(`chat_with_gpt41 failed: ${JSON.stringify(r.content).slice(0, 300)}`);
    };
    const viaSdk = async () => { await direct(`Say hello ${n++}.`, signal); };
    const block = async (fn: () => Promise<void>, count: number) => {
      const lat: number[] = [];
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        await fn();
        lat.push(performance.now() - t0);
      }
      return lat;
    };
    await block(viaServer, 5);
    await block(viaSdk, 5);
    await fake.serviceTime(signal);
    const out: Array<Record<string, number>> = [];
    for (let i = 0; i < rounds; i++) {
      const row: Record<string, number> = { round: i };
      for (const side of (i % 2 ? ['sdk', 'sb'] : ['sb', 'sdk'])) {
        const lat = await block(side === 'sb' ? viaServer : viaSdk, perBlock);
        row[`${side}_p50_ms`] = median(lat);
        row[`${side}_fake_p50_ms`] = (await fake.serviceTime(signal, 'responses.create')).p50_ms;
      }
      row.ratio = row.sb_p50_ms! / row.sdk_p50_ms!;
      log(`stdio-overhead round ${i + 1}/${rounds}: p50 ${round(row.sb_p50_ms!, 1)} ms vs direct SDK ${round(row.sdk_p50_ms!, 1)} ms (${round(row.ratio, 3)}), fake p50 ${round(row.sb_fake_p50_ms!, 1)} ms`);
      out.push(row);
    }
    const col = (k: string) => out.map((r) => r[k]!);
    return {
      name: 'stdio-overhead',
      rounds: out,
      summary: {
        fake_latency_ms: FAKE_LATENCY_MS,
        sb_p50_ms: round(median(col('sb_p50_ms')), 2),
        sdk_p50_ms: round(median(col('sdk_p50_ms')), 2),
        ratio: spread(col('ratio')),
        fake_service_p50_ms: round(median(col('sb_fake_p50_ms')), 2),
      },
      targets: [medianTarget('stdio chat p50 vs direct SDK call (fake latency 50 ms)', col('ratio'), '<=', 1.03, '×')],
    };
  } finally {
    await client.close().catch(() => undefined);
    await fake.stop();
    home.remove();
  }
}
