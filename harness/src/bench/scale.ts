/**
 * The scale benchmark: one overflowing chat call over trees of 1,000 / 10,000 / 50,000
 * files (tiny and mixed sizes), against the fake OpenAI API on loopback in a process of its
 * own (so its work never delays the pings timed here), with the server in
 * its own process (spawned over stdio, as a client runs it). Per case:
 *
 * - wall time of the call, uploads made (the fake's journal) and overflow bytes stored;
 * - peak resident memory of the server (VmHWM) and its resident memory before the call,
 *   2 s after it, and 2 s after the server's idle reclaim (VmRSS, /proc/PID/status; the
 *   reclaim runs once the server has had no tool call for `memory_reclaim.afterIdleMs`),
 *   with the pause that collection took (server_diagnostics `memory_reclaim`);
 * - MCP ping round trips sampled every 50 ms during the call (p50, p99, max) and after it
 *   until "RSS after" (max: the idle collection runs then). Each round trip is taken less
 *   the time this process's own loop was stalled within it (`OwnStalls`: reading a
 *   result that names 50,000 files stalls the client, not the server); the raw figures
 *   and this side's longest stall are reported beside them, and so is the server's own
 *   event-loop delay from its watchdog right after the call.
 *
 * Each case gets a fresh server (VmHWM is a lifetime peak) and a fresh fake. `--quick` runs
 * the 1,000-file cases only.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPrng } from '../fake/prng.ts';
import { startFakeProcess } from './processes.ts';
import { ServerProcess } from '../driver/server-process.ts';
import { PingSampler } from '../driver/ping-sampler.ts';
import { OwnStalls } from '../driver/own-stalls.ts';
import { nowMs } from '../driver/clock.ts';
import { memoryOf } from './proc-status.ts';
import { percentile } from './stats.ts';
import { figure, type BenchOptions, type BenchRow, type Benchmark } from './types.ts';

interface ScaleCase {
  files: number;
  sizes: 'tiny' | 'mixed';
}

/** Bytes per file: tiny 60–200, mixed 64 B–3 KB (mean about 1.5 KB). */
const SIZE_RANGES = { tiny: [60, 200], mixed: [64, 3_000] } as const;
const FULL_CASES: ScaleCase[] = [1_000, 10_000, 50_000].flatMap((files) => (['tiny', 'mixed'] as const).map((sizes) => ({ files, sizes })));
const QUICK_CASES: ScaleCase[] = [{ files: 1_000, sizes: 'tiny' }, { files: 1_000, sizes: 'mixed' }];
/** gpt-4.1 with a 40,000-token window: nearly everything overflows to the vector store. */
const MODELS = { 'gpt-4.1': { context_window: 40_000, timeout_s: 600 } };
const CALL_TIMEOUT_MS = 600_000;
const SETTLE_MS = 2_000;
const MB = 1_048_576;

const WORDS = ['request', 'signal', 'budget', 'store', 'upload', 'session', 'retry', 'limit', 'reply', 'context', 'token', 'batch'];

/** Writes `c.files` files over 100 directories; returns the bytes written. */
async function writeTree(root: string, c: ScaleCase): Promise<number> {
  const rng = createPrng(c.files + (c.sizes === 'tiny' ? 1 : 2));
  const [min, max] = SIZE_RANGES[c.sizes];
  let total = 0;
  const made = new Set<string>();
  const batch: Array<Promise<void>> = [];
  for (let i = 0; i < c.files; i++) {
    const rel = join(`pkg${i % 10}`, `sub${Math.floor(i / 10) % 10}`, `mod_${i}.ts`);
    const size = Math.round(min + rng.next() * (max - min));
    let text = `// module ${i}\n`;
    while (text.length < size) text += `export const ${WORDS[Math.floor(rng.next() * WORDS.length)]}_${i}_${text.length} = ${Math.floor(rng.next() * 1_000)};\n`;
    text = text.slice(0, size - 1) + '\n';
    total += Buffer.byteLength(text);
    const dir = dirname(join(root, rel));
    if (!made.has(dir)) { made.add(dir); await mkdir(dir, { recursive: true }); }
    batch.push(writeFile(join(root, rel), text));
    if (batch.length >= 64) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  return total;
}

function caseLabel(c: ScaleCase): string {
  return `${c.files.toLocaleString('en-US')} ${c.sizes}`;
}

async function runCase(c: ScaleCase, options: BenchOptions): Promise<BenchRow> {
  const label = caseLabel(c);
  const work = await mkdtemp(join(tmpdir(), 'sb-bench-scale-'));
  // The fake runs in its own process: in this one, parsing a multi-MB upload or searching a
  // 50,000-file store stalled the loop that times the pings (up to 790 ms measured), and
  // those stalls were charged to the server.
  const fake = await startFakeProcess({}, options.signal);
  let server: ServerProcess | undefined;
  const sampler = new PingSampler();
  const own = new OwnStalls();
  try {
    const root = join(work, 'project');
    const treeBytes = await writeTree(root, c);
    const modelsFile = join(work, 'models.json');
    await writeFile(modelsFile, JSON.stringify(MODELS));
    server = await ServerProcess.start({
      command: `${JSON.stringify(process.execPath)} server/src/main.ts`,
      cwd: options.repoRoot,
      env: {
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        HOME: work,
        OPENAI_API_KEY: 'sk-bench', XAI_API_KEY: 'xai-bench', GEMINI_API_KEY: 'gemini-bench',
        OPENAI_BASE_URL: fake.baseUrls.openai, XAI_BASE_URL: fake.baseUrls.xai, GEMINI_BASE_URL: fake.baseUrls.gemini,
        SECOND_BRAIN_HOME: join(work, 'home'),
        SECOND_BRAIN_MODELS: modelsFile,
        SECOND_BRAIN_MEMORY: 'false',
        SECOND_BRAIN_LOG_LEVEL: 'warn',
        OTEL_SDK_DISABLED: 'true',
      },
      stderr: { policy: 'drain' },
      roots: [root],
    });
    // Let start-up work (warm-up, first GC) settle so "before" is the idle server.
    await sleep(1_000);
    // How long the server waits, without a tool call, before it gives memory back.
    const reclaimIdleMs = await server.client.callTool({ name: 'server_diagnostics', arguments: {} }, undefined, { timeout: 30_000 })
      .then((r) => (r.structuredContent as { memory_reclaim?: { afterIdleMs?: number } } | undefined)?.memory_reclaim?.afterIdleMs ?? 0, () => 0);
    const before = await memoryOf(server.pid);
    sampler.setClient(server.client);
    own.start();
    sampler.start();
    const started = performance.now();
    const startedWall = nowMs();
    const result = await server.client.callTool(
      { name: 'chat_with_gpt41', arguments: { instructions: 'Where is the retry budget enforced?', session_id: `bench-${c.files}-${c.sizes}`, context: [root], disable_memory_search: true } },
      undefined,
      { timeout: CALL_TIMEOUT_MS, signal: options.signal, resetTimeoutOnProgress: true },
    );
    const wallMs = performance.now() - started;
    const endedWall = nowMs();
    // The server's own loop over the call (its watchdog's histogram, which also holds the
    // second of idle start-up before it): a figure no client-side stall can inflate.
    const loopAfterCall = await server.client.callTool({ name: 'server_diagnostics', arguments: {} }, undefined, { timeout: 30_000 })
      .then((r) => (r.structuredContent as { event_loop?: { p99_ms?: number; max_ms?: number } } | undefined)?.event_loop, () => undefined);
    const peak = await memoryOf(server.pid);
    // Pings go on while the server settles: what it does once idle (collecting the call's
    // garbage) is a pause a client would see too.
    await sleep(SETTLE_MS);
    const soonAfter = await memoryOf(server.pid);
    // Then past the server's idle reclaim (no tool call meanwhile: one would restart its wait).
    if (reclaimIdleMs > 0) await sleep(Math.max(0, reclaimIdleMs + SETTLE_MS - (nowMs() - endedWall)), undefined, { signal: options.signal });
    await sampler.stop();
    own.stop();
    const after = await memoryOf(server.pid);
    const diag = await server.client.callTool({ name: 'server_diagnostics', arguments: {} }, undefined, { timeout: 30_000 })
      .then((r) => r.structuredContent as { heap_used_mb?: number; external_mb?: number; memory_reclaim?: { runs: number; lastPauseMs: number | null } } | undefined, () => undefined);
    // Each round trip less the time this process itself was stalled within it: what is left
    // is the server's (and the pipe's) share. Both are reported; the targets are on the share.
    const serverShare = (p: { atMs: number; rttMs: number }) => Math.max(0, p.rttMs - own.within(p.atMs, p.atMs + p.rttMs));
    const during = sampler.samples.filter((s) => s.atMs <= endedWall);
    const settling = sampler.samples.filter((s) => s.atMs > endedWall).map(serverShare);
    const maxSettling = settling.length ? Math.max(...settling) : null;
    const slowest = during.filter((s) => s.rttMs > 50).map((s) => `${Math.round(s.rttMs)} ms (${Math.round(serverShare(s))} ms server) at +${((s.atMs - startedWall) / 1_000).toFixed(1)} s`);
    const uploads = (await fake.journal(options.signal)).filter((e) => e.route === 'files.create' && e.status === 200);
    const storedBytes = (await fake.state(options.signal)).files.reduce((n, f) => n + f.bytes, 0);
    const rawRtts = during.map((s) => s.rttMs);
    const rtts = during.map(serverShare);
    const ownMax = own.longest(startedWall, endedWall);
    const ctx = (result.structuredContent as { context?: { files_in_vector_store?: number; files_inline?: number } } | undefined)?.context;
    const fails = during.filter((s) => s.failed).length;
    const peakMb = peak.peakBytes === null ? null : peak.peakBytes / MB;
    const rssGrowthMb = after.rssBytes !== null && before.rssBytes !== null ? (after.rssBytes - before.rssBytes) / MB : null;
    const perUpload = uploads.length > 0 ? storedBytes / uploads.length / MB : null;
    // Uploads against the allowance of one per started 4 MB of overflow (at least one).
    const uploadsPer4Mb = uploads.length / Math.max(1, Math.ceil(storedBytes / (4 * MB)));
    const p99 = percentile(rtts, 99);
    const maxPing = rtts.length ? Math.max(...rtts) : null;
    const row: BenchRow = {
      case: label,
      figures: {
        'files': figure(c.files, ''),
        'tree MB': figure(treeBytes / MB, 'MB'),
        'wall s': figure(wallMs / 1_000, 's'),
        'uploads': figure(uploads.length, ''),
        'overflow MB': figure(storedBytes / MB, 'MB'),
        'MB per upload': figure(perUpload, 'MB'),
        'uploads per 4 MB of overflow': figure(uploadsPer4Mb, ''),
        'files in store': figure(ctx?.files_in_vector_store ?? null, ''),
        'peak RSS MB': figure(peakMb, 'MB'),
        'RSS before MB': figure(before.rssBytes === null ? null : before.rssBytes / MB, 'MB'),
        'RSS 2 s after MB': figure(soonAfter.rssBytes === null ? null : soonAfter.rssBytes / MB, 'MB'),
        'RSS after MB': figure(after.rssBytes === null ? null : after.rssBytes / MB, 'MB'),
        'RSS after − before MB': figure(rssGrowthMb, 'MB'),
        'ping p50 ms': figure(percentile(rtts, 50), 'ms'),
        'ping p99 ms': figure(p99, 'ms'),
        'ping max ms': figure(maxPing, 'ms'),
        'raw ping p99 ms': figure(percentile(rawRtts, 99), 'ms'),
        'raw ping max ms': figure(rawRtts.length ? Math.max(...rawRtts) : null, 'ms'),
        'bench own stall max ms': figure(ownMax, 'ms'),
        'server loop p99 ms': figure(loopAfterCall?.p99_ms ?? null, 'ms'),
        'server loop max ms': figure(loopAfterCall?.max_ms ?? null, 'ms'),
        'pings': figure(rtts.length, ''),
        'ping max settling ms': figure(maxSettling, 'ms'),
        // Null when the server had nothing to give back by then (V8 had already shrunk the heap).
        'reclaim pause ms': figure(diag?.memory_reclaim?.runs ? diag.memory_reclaim.lastPauseMs : null, 'ms'),
        'heap after MB': figure(diag?.heap_used_mb ?? null, 'MB'),
        'external after MB': figure(diag?.external_mb ?? null, 'MB'),
      },
      targets: [
        ...(c.files === 50_000 && c.sizes === 'tiny' ? [{ column: 'wall s', op: '<' as const, bound: 60, pass: wallMs / 1_000 < 60 }] : []),
        { column: 'peak RSS MB', op: '<=', bound: 600, pass: peakMb !== null && peakMb <= 600 },
        { column: 'RSS after − before MB', op: '<=', bound: 100, pass: rssGrowthMb !== null && rssGrowthMb <= 100 },
        { column: 'uploads per 4 MB of overflow', op: '<=', bound: 1, pass: uploadsPer4Mb <= 1 },
        { column: 'ping p99 ms', op: '<=', bound: 50, pass: p99 !== null && p99 <= 50 },
        { column: 'ping max ms', op: '<=', bound: 100, pass: maxPing !== null && maxPing <= 100 },
        { column: 'ping max settling ms', op: '<=', bound: 100, pass: maxSettling !== null && maxSettling <= 100 },
      ],
      note: `${result.isError ? 'call failed: ' + JSON.stringify(result.content).slice(0, 200) : 'call succeeded'}${fails ? `; ${fails} pings failed` : ''}; inline ${ctx?.files_inline ?? '?'}${slowest.length ? `; pings over 50 ms: ${slowest.slice(0, 8).join(', ')}` : ''}`,
    };
    options.log(`scale ${label}: ${(wallMs / 1_000).toFixed(1)} s, ${uploads.length} uploads, peak ${peakMb?.toFixed(0)} MB, ping p99 ${p99?.toFixed(1)} ms`);
    return row;
  } finally {
    await sampler.stop().catch(() => {});
    own.stop();
    await server?.kill('SIGTERM').catch(() => {});
    await fake.stop().catch(() => {});
    await rm(work, { recursive: true, force: true }).catch(() => {});
  }
}

export const scaleBenchmark: Benchmark = {
  name: 'scale',
  title: 'One overflowing chat call (gpt-4.1, 40k window) over large trees, fake OpenAI on loopback, server in its own process',
  async run(options) {
    const rows: BenchRow[] = [];
    for (const c of options.quick ? QUICK_CASES : FULL_CASES) {
      if (options.signal.aborted) break;
      if (options.filter && !caseLabel(c).includes(options.filter)) continue;
      rows.push(await runCase(c, options));
    }
    return rows;
  },
};
