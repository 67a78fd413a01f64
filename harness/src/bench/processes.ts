/**
 * Processes a benchmark runs: the fake API in its own process (so its work never shares
 * the measured server's event loop), the server over Streamable HTTP, and helpers to
 * open MCP sessions and read the fake's own service time from its journal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, percentile } from './stats.ts';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const START_TIMEOUT_MS = 30_000;

/** A child process that announced a URL on stderr. */
export interface Child {
  proc: ChildProcess;
  url: string;
  stderrTail(): string;
  stop(): Promise<void>;
}

/**
 * Spawns `node <args>` and resolves once a line of its stderr matches `ready`
 * (its first group is the URL).
 */
export async function spawnNode(args: string[], env: Record<string, string>, ready: RegExp, signal: AbortSignal): Promise<Child> {
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => fail(new Error(`${args.join(' ')} did not start within ${START_TIMEOUT_MS} ms:\n${tail}`)), START_TIMEOUT_MS);
    const onAbort = () => fail(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    function fail(err: Error) { cleanup(); proc.kill('SIGKILL'); rej(err); }
    function cleanup() { clearTimeout(timer); signal.removeEventListener('abort', onAbort); }
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-8_000);
      const m = tail.match(ready);
      if (m) { cleanup(); res(m[1]!); }
    });
    proc.once('exit', (code) => fail(new Error(`${args.join(' ')} exited with ${code} before it was ready:\n${tail}`)));
  });
  proc.removeAllListeners('exit');
  // Keep draining stderr, bounded, so a chatty child never blocks on a full pipe.
  return {
    proc, url,
    stderrTail: () => tail,
    stop: () => new Promise<void>((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) { res(); return; }
      const kill = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      proc.once('exit', () => { clearTimeout(kill); res(); });
      proc.kill('SIGTERM');
    }),
  };
}

export interface FakeProcess extends Child {
  baseUrls: { openai: string; xai: string; gemini: string };
  /**
   * The fake's own service time (journal start → end) of requests since the last call, ms;
   * only `route`'s requests when given (e.g. `responses.create`).
   */
  serviceTime(signal: AbortSignal, route?: string): Promise<{ count: number; p50_ms: number; p99_ms: number }>;
  /** Adds fault rules (e.g. a fixed latency) through the control API. */
  addFaults(rules: unknown[], signal: AbortSignal): Promise<void>;
  /** The journal's entries (route and status of each request), through the control API. */
  journal(signal: AbortSignal): Promise<Array<{ id: number; route: string; status: number | null }>>;
  /** The fake's provider state (files with their sizes), through the control API. */
  state(signal: AbortSignal): Promise<{ files: Array<{ id: string; filename: string; bytes: number }> }>;
}

/** Starts `harness fake-openai` on an ephemeral port with `config` (fake config JSON). */
export async function startFakeProcess(config: Record<string, unknown>, signal: AbortSignal): Promise<FakeProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-fake-'));
  const file = join(dir, 'fake.json');
  writeFileSync(file, JSON.stringify({ journalLimit: 2_000, ...config }));
  const child = await spawnNode([join(REPO_ROOT, 'harness/src/cli.ts'), 'fake-openai', '--port', '0', '--config', file],
    { PATH: process.env.PATH ?? '' }, /fake-openai listening on (http:\/\/127\.0\.0\.1:\d+)/, signal);
  const base = child.url;
  let since = 0;
  const stop = child.stop;
  return {
    ...child,
    baseUrls: { openai: `${base}/openai/v1`, xai: `${base}/xai/v1`, gemini: `${base}/gemini/v1beta/openai` },
    async serviceTime(s, route) {
      const r = await fetch(`${base}/_control/journal?since=${since}`, { signal: s });
      const body = await r.json() as { entries: Array<{ id: number; route: string; startMs: number; endMs: number | null }> };
      const times = body.entries.filter((e) => e.endMs !== null && (!route || e.route === route)).map((e) => e.endMs! - e.startMs);
      if (body.entries.length) since = body.entries[body.entries.length - 1]!.id;
      return { count: times.length, p50_ms: median(times), p99_ms: percentile(times, 99) };
    },
    async addFaults(rules, s) {
      const r = await fetch(`${base}/_control/faults`, { method: 'POST', body: JSON.stringify(rules), headers: { 'content-type': 'application/json' }, signal: s });
      if (!r.ok) throw new Error(`fake control /faults answered ${r.status}: ${await r.text()}`);
    },
    async journal(s) {
      const r = await fetch(`${base}/_control/journal`, { signal: s });
      return (await r.json() as { entries: Array<{ id: number; route: string; status: number | null }> }).entries;
    },
    async state(s) {
      const r = await fetch(`${base}/_control/state`, { signal: s });
      return await r.json() as { files: Array<{ id: string; filename: string; bytes: number }> };
    },
    async stop() { await stop(); rmSync(dir, { recursive: true, force: true }); },
  };
}

/** The environment a server process gets: the fake's base URLs, a fresh state dir. */
export function serverEnv(fake: FakeProcess, home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    SECOND_BRAIN_HOME: home,
    SECOND_BRAIN_LOG_LEVEL: 'warn',
    OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: fake.baseUrls.openai,
    XAI_API_KEY: 'xai-bench', XAI_BASE_URL: fake.baseUrls.xai,
    GEMINI_API_KEY: 'gemini-bench', GEMINI_BASE_URL: fake.baseUrls.gemini,
    ...extra,
  };
}

export function tempHome(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts second-brain over Streamable HTTP on an ephemeral port; resolves with `…/mcp`. */
export function startHttpServer(env: Record<string, string>, signal: AbortSignal, nodeArgs: string[] = []): Promise<Child> {
  return spawnNode([...nodeArgs, join(REPO_ROOT, 'server/src/main.ts'), '--http', '0'], env,
    /MCP Streamable HTTP on (http:\/\/127\.0\.0\.1:\d+\/mcp)/, signal);
}

/** RSS of a process in bytes, from /proc (Linux); NaN elsewhere. */
export async function rssOf(pid: number): Promise<number> {
  try {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = status.match(/VmRSS:\s+(\d+)\s+kB/);
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux); NaN elsewhere. */
export async function cpuMsOf(pid: number): Promise<number> {
  try {
    const { readFile } = await import('node:fs/promises');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}
/** USER_HZ on Linux is 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_S = 100;
