/**
 * The two HTTP servers a load benchmark compares, started side by side against one fake:
 * second-brain (`--http 0`, with its bearer token and a session cap that fits the load)
 * and the anchor, the MCP SDK's bare Streamable HTTP server doing the same work.
 */
import { join } from 'node:path';
import { REPO_ROOT, serverEnv, spawnNode, startHttpServer, type Child, type FakeProcess } from './processes.ts';
import { BENCH_HTTP_SESSIONS, type HttpTarget } from './mcp-http.ts';

export interface HttpPair {
  server: Child;
  anchor: Child;
  sb: HttpTarget;
  bare: HttpTarget;
}

/** Starts both; each child is pushed on `children` as soon as it runs, so the caller's cleanup stops it. */
export async function startHttpPair(fake: FakeProcess, home: string, token: string, children: Child[], signal: AbortSignal, nodeArgs: string[] = []): Promise<HttpPair> {
  const env = serverEnv(fake, home, { SECOND_BRAIN_HTTP_TOKEN: token, SECOND_BRAIN_HTTP_MAX_SESSIONS: String(BENCH_HTTP_SESSIONS) });
  const server = await startHttpServer(env, signal, nodeArgs);
  children.push(server);
  const anchor = await spawnNode([join(REPO_ROOT, 'harness/src/bench/anchors/bare-sdk-http-server.ts')],
    { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: fake.baseUrls.openai },
    /anchor MCP Streamable HTTP on (http:\/\/127\.0\.0\.1:\d+\/mcp)/, signal);
  children.push(anchor);
  return { server, anchor, sb: { url: server.url, token }, bare: { url: anchor.url } };
}
