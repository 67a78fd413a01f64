/**
 * Anchor: the MCP SDK's bare Streamable HTTP server, as its own process. One McpServer
 * per session over StreamableHTTPServerTransport (the SDK's session pattern), on
 * node:http like second-brain, with two tools doing the same work as second-brain's:
 * a static `list_models`, and `chat_with_gpt41`, one `responses.create` through the
 * `openai` SDK. No validation beyond the SDK's, no telemetry, no diagnostics.
 *
 *   node harness/src/bench/anchors/bare-sdk-http-server.ts   (OPENAI_BASE_URL, OPENAI_API_KEY)
 *
 * Prints `anchor MCP Streamable HTTP on http://127.0.0.1:PORT/mcp` on stderr.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import OpenAI from 'openai';
import { z } from 'zod';

const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY ?? 'sk-anchor', baseURL: process.env.OPENAI_BASE_URL, maxRetries: 0 });
// The same payload second-brain's list_models answers with, built once from the catalogue
// data, so both sides write the same bytes per request.
const KEY_VARS: Record<string, string> = { openai: 'OPENAI_API_KEY', xai: 'XAI_API_KEY', gemini: 'GEMINI_API_KEY' };
const catalogue = JSON.parse(readFileSync(new URL('../../../../server/src/config/models.json', import.meta.url), 'utf8')) as
  Record<string, { api_model: string; provider: string; tool: string; context_window: number; timeout_s: number; background: boolean; reasoning_efforts?: string[]; supports_temperature: boolean; vector_stores: boolean }>;
const MODELS = Object.entries(catalogue).map(([id, m]) => ({
  id, tool: m.tool, provider: m.provider, api_model: m.api_model, context_window: m.context_window, timeout_s: m.timeout_s,
  background: m.background, reasoning_efforts: m.reasoning_efforts ?? [], supports_temperature: m.supports_temperature,
  vector_stores: m.vector_stores, key_set: true, key_variable: KEY_VARS[m.provider] ?? '',
}));
const MODELS_TEXT = MODELS.map((m) => `${m.tool}: ${m.id} (${m.provider}, ${m.context_window} tokens, ${m.timeout_s} s)`).join('\n');

function mcpServer(): McpServer {
  const mcp = new McpServer({ name: 'bare-anchor', version: '0.0.0' }, { capabilities: { tools: {} } });
  mcp.registerTool('list_models', { description: 'Lists models.', inputSchema: {} }, () => ({
    content: [{ type: 'text', text: MODELS_TEXT }],
    structuredContent: { models: MODELS },
  }));
  mcp.registerTool('chat_with_gpt41', {
    description: 'Asks gpt-4.1.',
    inputSchema: { instructions: z.string(), session_id: z.string() },
  }, async (args, extra) => {
    const r = await client.responses.create({ model: 'gpt-4.1', input: args.instructions }, { signal: extra.signal });
    return { content: [{ type: 'text', text: r.output_text }] };
  });
  return mcp;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  return raw ? JSON.parse(raw) : undefined;
}

const sessions = new Map<string, StreamableHTTPServerTransport>();
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const sid = req.headers['mcp-session-id'];
    const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (req.method === 'POST') {
      const body = await readJson(req);
      if (existing) { await existing.handleRequest(req, res, body); return; }
      if (!isInitializeRequest(body)) { res.writeHead(400).end('no session'); return; }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => { sessions.set(id, transport); },
      });
      transport.onclose = () => { if (transport.sessionId) sessions.delete(transport.sessionId); };
      await mcpServer().connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    if (existing) { await existing.handleRequest(req, res); return; }
    res.writeHead(400).end('no session');
  } catch (err) {
    if (!res.headersSent) res.writeHead(400).end(String(err));
  }
}
// handle() never rejects (it answers every error itself), so the promise is let go.
const server = createServer((req, res) => { void handle(req, res); });
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stderr.write(`anchor MCP Streamable HTTP on http://127.0.0.1:${port}/mcp\n`);
});
process.once('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
