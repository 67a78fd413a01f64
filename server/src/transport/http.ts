/**
 * MCP Streamable HTTP on 127.0.0.1. Each MCP session gets its own McpServer (the SDK
 * binds one server to one transport) over the shared App, so state, limits and
 * diagnostics are process-wide.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../app.ts';
import { createServer, type CreateServerOptions, type SecondBrainServer } from '../mcp/create-server.ts';

/** Largest request body accepted, in bytes. */
const MAX_BODY_BYTES = 8 * 1_048_576;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(c as Buffer);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  return raw ? JSON.parse(raw) : undefined;
}

export interface HttpHandle {
  server: HttpServer;
  port: number;
  sessions: Map<string, { transport: StreamableHTTPServerTransport; sb: SecondBrainServer }>;
  close(): Promise<void>;
}

export async function serveHttp(app: App, port: number, options: CreateServerOptions = {}): Promise<HttpHandle> {
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; sb: SecondBrainServer }>();
  const server = createHttpServer(async (req, res) => {
    try {
      if (!req.url?.startsWith('/mcp')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found; the MCP endpoint is /mcp' }));
        return;
      }
      const sid = req.headers['mcp-session-id'];
      const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (req.method === 'POST') {
        const body = await readJson(req);
        if (existing) { await existing.transport.handleRequest(req, res, body); return; }
        if (!isInitializeRequest(body)) {
          res.writeHead(400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'No valid session: send initialize first, or the mcp-session-id header' }, id: null }));
          return;
        }
        const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => { sessions.set(id, { transport, sb }); },
        });
        const sb = createServer(app, { ...options, transport: 'tcp' });
        transport.onclose = () => { sb.tasks.cleanup(); if (transport.sessionId) sessions.delete(transport.sessionId); };
        await sb.mcp.connect(transport);
        await transport.handleRequest(req, res, body);
        return;
      }
      if (existing && (req.method === 'GET' || req.method === 'DELETE')) { await existing.transport.handleRequest(req, res); return; }
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unknown or missing mcp-session-id' }));
    } catch (err) {
      app.log.warn({ err: (err as Error).message }, 'HTTP request failed');
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (err as Error).message }));
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    server, port: actual, sessions,
    async close() {
      for (const s of sessions.values()) await s.transport.close().catch(() => {});
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
