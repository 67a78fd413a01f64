/**
 * HTTP-mode test rig: the real App behind serveHttp on 127.0.0.1:0, the fake API on its own
 * loopback socket (no fetch interception, so the test's own requests reach the server
 * untouched), and real MCP SDK clients over StreamableHTTPClientTransport.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startLoopbackFake, type LoopbackFake } from '../../../harness/src/node/loopback.ts';
import { loadConfig } from '../../src/config/env.ts';
import { createApp, stopApp, type App } from '../../src/app.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { serveHttp, type HttpHandle, type ServeHttpOptions } from '../../src/transport/http.ts';
import { patience } from '@second-brain/harness';

export const HTTP_TEST_TOKEN = 'test-token-0123456789abcdefABCDEF';

export interface HttpRig {
  app: App;
  http: HttpHandle;
  lb: LoopbackFake;
  url: string;
  home: string;
  /** An SDK client; `token: null` sends none. `roots` makes it declare roots and answer roots/list. */
  connect(opts?: { token?: string | null; roots?: string[] }): Promise<Client>;
  /** A raw request to the server (fetch), with the token unless `token: null`. */
  request(init?: RequestInit & { token?: string | null; path?: string }): Promise<Response>;
  close(): Promise<void>;
}

export async function startHttpRig(opts: { env?: Record<string, string>; serve?: Partial<ServeHttpOptions> } = {}): Promise<HttpRig> {
  const lb = await startLoopbackFake();
  const home = mkdtempSync(join(tmpdir(), 'sb-http-rig-'));
  const env: Record<string, string> = {
    OPENAI_API_KEY: 'sk-test-http-rig-0123456789', OPENAI_BASE_URL: lb.baseUrls.openai,
    SECOND_BRAIN_HOME: home, SECOND_BRAIN_MEMORY: 'false', ...opts.env,
  };
  const log = createLogger({ level: 'silent', destination: { write: () => {} } });
  const app = createApp(loadConfig(env), { log });
  const http = await serveHttp(app, 0, { token: HTTP_TEST_TOKEN, ...opts.serve });
  const url = `http://127.0.0.1:${http.port}/mcp`;
  const clients: Client[] = [];
  const auth = (token: string | null | undefined): Record<string, string> => {
    const t = token === undefined ? HTTP_TEST_TOKEN : token;
    return t === null ? {} : { authorization: `Bearer ${t}` };
  };
  return {
    app, http, lb, url, home,
    async connect(o = {}) {
      const c = new Client({ name: 'http-rig', version: '1' }, { capabilities: o.roots ? { roots: { listChanged: true } } : {} });
      if (o.roots) {
        const roots = o.roots;
        c.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: roots.map((r) => ({ uri: `file://${r}`, name: r })) }));
      }
      await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: auth(o.token) } }));
      clients.push(c);
      return c;
    },
    async request(init = {}) {
      const { token, path, headers, ...rest } = init;
      return await fetch(`http://127.0.0.1:${http.port}${path ?? '/mcp'}`, {
        method: 'POST', ...rest,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...auth(token), ...(headers as Record<string, string> | undefined) },
        signal: AbortSignal.timeout(patience(10_000)),
      });
    },
    async close() {
      for (const c of clients) await c.close().catch(() => {});
      await stopApp(app, async () => {}, 2_000);
      await http.close();
      await lb.close();
      app.db.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A JSON-RPC initialize body. */
export function initializeBody(id = 1, capabilities: Record<string, unknown> = {}): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 'raw', version: '1' } } });
}
