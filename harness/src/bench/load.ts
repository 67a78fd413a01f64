/**
 * HTTP load with autocannon (as a library) against an MCP Streamable HTTP endpoint:
 * one initialized session per connection, each request a `tools/call` with a fresh id.
 */
import autocannon from 'autocannon';
import { closeSession, openSession, toolCallBody, type HttpTarget } from './mcp-http.ts';

export interface LoadFigures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  requests: number;
  errors: number;
  non2xx: number;
}

export async function runLoad(target: HttpTarget, opts: {
  tool: string; args: Record<string, unknown>; connections: number; durationS: number; signal: AbortSignal;
}): Promise<LoadFigures> {
  const sessions: Array<Record<string, string>> = [];
  for (let i = 0; i < opts.connections; i++) sessions.push(await openSession(target, opts.signal));
  let next = 0;
  try {
    // autocannon's tracker is an EventEmitter that is also thenable; its types show only the promise.
    const instance = autocannon({
      url: target.url,
      connections: opts.connections,
      duration: opts.durationS,
      method: 'POST',
      body: toolCallBody(opts.tool, opts.args),
      idReplacement: true,
      headers: sessions[0],
      // Each connection replays on its own session, as one client per connection would.
      setupClient: (client) => { client.setHeaders(sessions[next++ % sessions.length]); },
    }) as unknown as Promise<autocannon.Result> & { stop(): void };
    const onAbort = () => instance.stop();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const result = await instance;
    opts.signal.removeEventListener('abort', onAbort);
    return {
      rps: result.requests.average,
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      max_ms: result.latency.max,
      requests: result.requests.total,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
    };
  } finally {
    await Promise.all(sessions.map((h) => closeSession(target, h, opts.signal)));
  }
}
