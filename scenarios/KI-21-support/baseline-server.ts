/**
 * A second server for KI-21, started from a `run` step: the same server, the same fake
 * (preloaded into it, with the same faults) and the same project, with telemetry off.
 * Calls alternate between it and the scenario's own server, so both meet the same load
 * on the machine and their latencies can be compared.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nowMs } from '../../harness/src/driver/clock.ts';
import { PingSampler } from '../../harness/src/driver/ping-sampler.ts';
import { ServerProcess } from '../../harness/src/driver/server-process.ts';
import { DEFAULT_BASE_URLS } from '../../harness/src/fake/index.ts';
import type { StepContext } from '../../harness/src/runner/step-context.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PRELOAD = fileURLToPath(new URL('../../harness/src/node/preload.ts', import.meta.url));

export interface Baseline {
  server: ServerProcess;
  pings: PingSampler;
  /** Runs one tool call to its end; returns its wall time in ms (throws on an error result). */
  call(tool: string, args: Record<string, unknown>): Promise<number>;
  close(): Promise<void>;
}

/** Starts the telemetry-off server with `env` on top of the defaults (log level, memory, …). */
export async function startBaseline(ctx: StepContext, options: { fake: Record<string, unknown>; env: Record<string, string> }): Promise<Baseline> {
  const home = join(ctx.workDir, 'baseline-home');
  await mkdir(home, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: ctx.workDir,
    OPENAI_API_KEY: 'sk-baseline-openai',
    XAI_API_KEY: 'xai-baseline',
    GEMINI_API_KEY: 'AIza-baseline',
    SECOND_BRAIN_HOME: home,
    SECOND_BRAIN_ALLOWED_PATHS: ctx.workDir,
    OPENAI_BASE_URL: DEFAULT_BASE_URLS.openai,
    XAI_BASE_URL: DEFAULT_BASE_URLS.xai,
    GEMINI_BASE_URL: DEFAULT_BASE_URLS.gemini,
    SB_FAKE_CONFIG: JSON.stringify(options.fake),
    NODE_OPTIONS: `--import=${pathToFileURL(PRELOAD).href}`,
    OTEL_SDK_DISABLED: 'true',
    ...options.env,
  };
  const server = await ServerProcess.start({
    command: `${process.execPath} server/src/main.ts`,
    cwd: REPO_ROOT,
    env,
    stderr: { policy: 'drain' },
    roots: [ctx.tree?.root ?? ctx.workDir],
  });
  const pings = new PingSampler();
  pings.setClient(server.client);
  pings.start();
  return {
    server,
    pings,
    async call(tool, args) {
      const started = nowMs();
      const result = await server.client.callTool({ name: tool, arguments: args }, undefined, { timeout: 10_000 });
      if (result.isError) throw new Error(`The telemetry-off server failed ${tool}: ${JSON.stringify(result.content).slice(0, 300)}`);
      return nowMs() - started;
    },
    async close() {
      await pings.stop();
      server.drainStderr();
      await server.close();
    },
  };
}
