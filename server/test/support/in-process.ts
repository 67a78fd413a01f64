/**
 * In-process test rig: the shared msw fake (harness/src/fake) intercepting fetch, the real
 * App and MCP server, and a real MCP SDK client over InMemoryTransport. SDK clients are
 * created lazily by the App, i.e. after msw is listening.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupServer } from 'msw/node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ListRootsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createFakeApi, type FakeApi, type FakeApiOptions } from '../../../harness/src/fake/index.ts';
import { startLoopbackFake } from '../../../harness/src/node/loopback.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createApp, stopApp, type App } from '../../src/app.ts';
import { createServer, type SecondBrainServer } from '../../src/mcp/create-server.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { startServices } from '../../src/services.ts';
import { patience } from '@second-brain/harness';

export const SENTINEL_KEY = 'sk-test-SENTINEL-0123456789abcdef';

export interface Rig {
  fake: FakeApi;
  client: Client;
  app: App;
  sb: SecondBrainServer;
  home: string;
  logs: string[];
  call(name: string, args: Record<string, unknown>, opts?: { signal?: AbortSignal; onprogress?: (p: { progress: number; message?: string }) => void; timeout?: number }): Promise<CallToolResult>;
  /** A second App + server on the same state dir (a restart, or another instance). */
  restart(): Promise<Rig>;
  close(): Promise<void>;
}

export interface RigOptions {
  fake?: FakeApiOptions;
  /** Catalogue overrides (written to a SECOND_BRAIN_MODELS file). */
  models?: Record<string, Record<string, unknown>>;
  env?: Record<string, string>;
  roots?: string[];
  home?: string;
  /** Reuse an existing fake (restart keeps upstream state). */
  sharedFake?: { fake: FakeApi; msw: ReturnType<typeof setupServer> };
  services?: boolean;
  /** Serve the fake over real HTTP on 127.0.0.1 (connection faults, HTTP client spans) instead of msw interception. */
  loopback?: boolean;
}

export async function startRig(opts: RigOptions = {}): Promise<Rig> {
  const shared = opts.sharedFake;
  const lb = opts.loopback && !shared ? await startLoopbackFake({ fakeOptions: opts.fake }) : undefined;
  const fake = shared?.fake ?? lb?.fake ?? createFakeApi(opts.fake);
  const baseUrls = lb?.baseUrls ?? fake.baseUrls;
  const msw = shared?.msw ?? setupServer(...(lb ? [] : fake.handlers));
  if (!shared) msw.listen({ onUnhandledFrame: 'bypass' });
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'sb-rig-'));
  const env: Record<string, string> = {
    OPENAI_API_KEY: SENTINEL_KEY, OPENAI_BASE_URL: baseUrls.openai,
    XAI_API_KEY: 'xai-test-key-0123456789', XAI_BASE_URL: baseUrls.xai,
    GEMINI_API_KEY: 'gemini-test-key-0123456789', GEMINI_BASE_URL: baseUrls.gemini,
    SECOND_BRAIN_HOME: home, SECOND_BRAIN_MEMORY: 'false',
    ...opts.env,
  };
  if (opts.models) {
    const f = join(home, 'models.json');
    writeFileSync(f, JSON.stringify(opts.models));
    env.SECOND_BRAIN_MODELS = f;
  }
  const logs: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (s: string) => { if (logs.length < 5_000) logs.push(s); } } });
  const app = createApp(loadConfig(env), { log });
  if (opts.services !== false) await startServices(app);
  const sb = createServer(app);
  const [ct, st] = InMemoryTransport.createLinkedPair();
  await sb.connect(st);
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities: { roots: { listChanged: true } } });
  const roots = opts.roots ?? [process.cwd()];
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: roots.map((r) => ({ uri: `file://${r}`, name: r })) }));
  await client.connect(ct);
  const rig: Rig = {
    fake, client, app, sb, home, logs,
    async call(name, args, o = {}) {
      return await client.callTool({ name, arguments: args }, undefined, {
        signal: o.signal, onprogress: o.onprogress, timeout: o.timeout ?? patience(60_000), resetTimeoutOnProgress: true,
      }) as CallToolResult;
    },
    async restart() {
      await closeServerOnly();
      return startRig({ ...opts, home, sharedFake: { fake, msw } });
    },
    async close() {
      await closeServerOnly();
      msw.close();
      await lb?.close();
      if (!opts.home) rmSync(home, { recursive: true, force: true });
    },
  };
  let closed = false;
  async function closeServerOnly() {
    if (closed) return;
    closed = true;
    await stopApp(app, (ms) => sb.handOff(ms), 3_000);
    await client.close().catch(() => {});
    await sb.mcp.close().catch(() => {});
    app.db.close();
  }
  return rig;
}

export function textOf(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}
