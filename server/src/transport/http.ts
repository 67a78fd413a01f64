/**
 * MCP Streamable HTTP on 127.0.0.1, safe by default. Every request goes through, in order:
 * Host/Origin allow-list (403) → exact route `/mcp` (404) → bearer token (401) → method
 * (405) → session lookup (404 for an unknown or ended `mcp-session-id`, 400 without one)
 * → body (413 past the limit, JSON-RPC -32700 for bad JSON, -32600 for a non-message) →
 * session cap for a new initialize (503). Only then does the SDK transport see it.
 *
 * Each MCP session gets its own McpServer (the SDK binds one server to one transport) over
 * the shared App, so state, limits and diagnostics are process-wide.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../app.ts';
import { createServer, type CreateServerOptions, type SecondBrainServer } from '../mcp/create-server.ts';
import { bearerGate, checkOrigin, originPolicy, type Rejection } from './http-guard.ts';
import { HttpSessions, type HttpSession, type HttpSessionStats } from './http-sessions.ts';

/** The MCP endpoint; any other path is 404. */
export const MCP_PATH = '/mcp';

export interface ServeHttpOptions extends CreateServerOptions {
  /** Bearer token every request must carry (required). */
  token: string;
  /** Overrides of app.config.http, mainly for tests. */
  allowedHosts?: string[];
  allowedOrigins?: string[];
  maxSessions?: number;
  sessionIdleMs?: number;
  maxBodyBytes?: number;
}

export interface HttpHandle {
  server: HttpServer;
  port: number;
  sessions: HttpSessions;
  stats(): HttpSessionStats;
  close(): Promise<void>;
}

const JSON_CT = { 'content-type': 'application/json' };

function rpcError(res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) { res.end(); return; }
  res.writeHead(status, { ...JSON_CT, ...headers }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

function reject(res: ServerResponse, r: Rejection): void {
  rpcError(res, r.status, -32000, r.message, r.headers);
}

class BodyTooLarge extends Error {}

/**
 * Reads the body up to `limit` bytes. A declared Content-Length over the limit is refused
 * before a byte is read; a streamed body is refused as soon as it passes the limit.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function validMessage(body: unknown): boolean {
  const msgs = Array.isArray(body) ? body : [body];
  return msgs.length > 0 && msgs.every((m) => JSONRPCMessageSchema.safeParse(m).success);
}

/**
 * Serves MCP over Streamable HTTP on 127.0.0.1:`port` (0 picks a free port). Settings not
 * given in `options` come from `app.config.http`.
 */
export async function serveHttp(app: App, port: number, options: ServeHttpOptions): Promise<HttpHandle> {
  if (!options.token) throw new Error('serveHttp needs a bearer token');
  const cfg = app.config.http;
  const maxBodyBytes = options.maxBodyBytes ?? cfg.maxBodyBytes;
  const sessions = new HttpSessions({ maxSessions: options.maxSessions ?? cfg.maxSessions, idleMs: options.sessionIdleMs ?? cfg.sessionIdleMs });
  const authorize = bearerGate(options.token);
  const { token: _token, allowedHosts, allowedOrigins, maxSessions: _m, sessionIdleMs: _i, maxBodyBytes: _b, ...serverOptions } = options;
  let policy = originPolicy(port);

  async function newSession(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (!sessions.reserve()) {
      app.log.warn({ open: sessions.size }, 'HTTP initialize refused: session cap reached');
      rpcError(res, 503, -32000, `Too many open sessions (${sessions.size}). Close one (DELETE ${MCP_PATH}) or wait for idle ones to expire, then retry.`, { 'retry-after': '5' });
      return;
    }
    let session: HttpSession | undefined;
    let sb: SecondBrainServer | undefined;
    try {
      const server = createServer(app, { ...serverOptions, transport: 'tcp' });
      sb = server;
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        maxRequestBodySize: maxBodyBytes,
        onsessioninitialized: (id) => {
          session = { id, transport, sb: server, open: 1 };
          sessions.add(session);
          sessions.settle();
        },
        onsessionclosed: (id) => { const s = sessions.get(id); if (s) void sessions.close(s, 'deleted'); },
      });
      // Set before connect: the SDK chains its own onclose after ours.
      transport.onclose = () => { const id = transport.sessionId; const s = id ? sessions.get(id) : undefined; if (s) void sessions.close(s, 'shutdown'); };
      await server.connect(transport);
      res.once('close', () => { if (session) sessions.end(session); });
      await transport.handleRequest(req, res, body);
    } finally {
      if (!session) {
        // The initialize was refused by the transport (bad headers or params): nothing to keep.
        sessions.settle();
        sb?.tasks.cleanup();
        await sb?.mcp.close().catch(() => {});
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = checkOrigin(policy, req.headers);
    if (refused) { sessions.counts.refusedHostOrigin++; reject(res, refused); return; }
    let path: string;
    try { path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname; } catch { path = ''; }
    if (path !== MCP_PATH) { rpcError(res, 404, -32000, `Not found: the MCP endpoint is ${MCP_PATH}.`); return; }
    const unauthorized = authorize(req.headers);
    if (unauthorized) { sessions.counts.refusedUnauthorized++; reject(res, unauthorized); return; }
    if (req.method !== 'POST' && req.method !== 'GET' && req.method !== 'DELETE') {
      rpcError(res, 405, -32000, `Method ${req.method} not allowed on ${MCP_PATH}.`, { allow: 'GET, POST, DELETE' });
      return;
    }
    const sid = req.headers['mcp-session-id'];
    const session = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (sid !== undefined && !session) {
      // Streamable HTTP: an unknown or terminated session is 404, which tells the client to initialize anew.
      rpcError(res, 404, -32001, 'Session not found: it ended or never existed. Send initialize without mcp-session-id to start a new one.');
      return;
    }
    if (req.method !== 'POST') {
      if (!session) { rpcError(res, 400, -32000, `Bad request: ${req.method} needs the mcp-session-id header.`); return; }
      sessions.begin(session);
      res.once('close', () => sessions.end(session));
      await session.transport.handleRequest(req, res);
      return;
    }
    let raw: string;
    try {
      raw = await readBody(req, maxBodyBytes);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      // Connection: close, so Node does not read the rest of an oversized body to reuse the socket.
      rpcError(res, 413, -32000, `Request body larger than ${maxBodyBytes} bytes.`, { connection: 'close' });
      return;
    }
    let body: unknown;
    try { body = JSON.parse(raw); } catch {
      rpcError(res, 400, -32700, 'Parse error: the body is not valid JSON.');
      return;
    }
    if (!validMessage(body)) { rpcError(res, 400, -32600, 'Invalid Request: the body is not a JSON-RPC message or batch.'); return; }
    if (session) {
      sessions.begin(session);
      res.once('close', () => sessions.end(session));
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (!isInitializeRequest(body)) {
      rpcError(res, 400, -32000, 'Bad request: no mcp-session-id. Send initialize first, then the mcp-session-id header it returns.');
      return;
    }
    await newSession(req, res, body);
  }

  const server = createHttpServer((req, res) => {
    handle(req, res).catch((err) => {
      app.log.warn({ err: (err as Error).message }, 'HTTP request failed');
      rpcError(res, 500, -32603, 'Internal error.');
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  policy = originPolicy(actual, allowedHosts ?? cfg.allowedHosts, allowedOrigins ?? cfg.allowedOrigins);
  app.services.httpSessions = () => ({ ...sessions.stats() });
  return {
    server, port: actual, sessions,
    stats: () => sessions.stats(),
    async close() {
      for (const s of [...sessions.values()]) await sessions.close(s, 'shutdown');
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
