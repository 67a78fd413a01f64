/**
 * Minimal MCP Streamable HTTP client calls for load generation: the request bodies and
 * headers autocannon replays, and opening sessions (initialize, then the initialized
 * notification) so each replayed `tools/call` runs on an initialized session.
 * The SDK's Client is not used here because autocannon needs the raw request.
 */
import { randomBytes } from 'node:crypto';
export const PROTOCOL_VERSION = '2025-06-18';

export interface HttpTarget {
  /** `http://127.0.0.1:PORT/mcp` */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
}

export function baseHeaders(target: HttpTarget): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
  };
}

/** Parses a Streamable HTTP answer (JSON or one SSE event) into the JSON-RPC message. */
export function parseRpcAnswer(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as Record<string, unknown>;
  const data = trimmed.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('');
  if (!data) throw new Error(`no JSON-RPC message in the answer: ${trimmed.slice(0, 200)}`);
  return JSON.parse(data) as Record<string, unknown>;
}

/** Opens one session; returns its headers for later requests. */
export async function openSession(target: HttpTarget, signal: AbortSignal): Promise<Record<string, string>> {
  const init = await fetch(target.url, {
    method: 'POST', headers: baseHeaders(target), signal,
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'sb-bench', version: '0' } } }),
  });
  const sid = init.headers.get('mcp-session-id');
  const answer = parseRpcAnswer(await init.text());
  if (!init.ok || !sid || !answer.result) throw new Error(`initialize failed (${init.status}): ${JSON.stringify(answer).slice(0, 300)}`);
  const headers = { ...baseHeaders(target), 'mcp-session-id': sid, 'mcp-protocol-version': PROTOCOL_VERSION };
  const note = await fetch(target.url, { method: 'POST', headers, signal, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  await note.arrayBuffer();
  return headers;
}

/** Closes a session (DELETE), ignoring failures. */
export async function closeSession(target: HttpTarget, headers: Record<string, string>, signal: AbortSignal): Promise<void> {
  await fetch(target.url, { method: 'DELETE', headers, signal }).then((r) => r.arrayBuffer()).catch(() => undefined);
}

/**
 * A `tools/call` body. `[<id>]` is replaced by autocannon with a fresh id per request
 * (idReplacement), so concurrent requests on one session never share a JSON-RPC id.
 */
export function toolCallBody(name: string, args: Record<string, unknown>, id: string | number = '[<id>]'): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
}

/** One tools/call over an open session; returns the result or throws on an error. */
export async function callTool(target: HttpTarget, headers: Record<string, string>, name: string, args: Record<string, unknown>, id: number, signal: AbortSignal): Promise<Record<string, unknown>> {
  const r = await fetch(target.url, { method: 'POST', headers, signal, body: toolCallBody(name, args, id) });
  const answer = parseRpcAnswer(await r.text());
  const result = answer.result as Record<string, unknown> | undefined;
  if (!result || result.isError) throw new Error(`${name} failed: ${JSON.stringify(answer).slice(0, 400)}`);
  return result;
}

/**
 * The bearer token a benchmark's HTTP server is started with: the given one, else
 * SECOND_BRAIN_HTTP_TOKEN, else a fresh random one (HTTP mode always requires one).
 */
export function benchToken(given?: string): string {
  return given ?? process.env.SECOND_BRAIN_HTTP_TOKEN ?? randomBytes(24).toString('base64url');
}

/** Session cap the benchmarked HTTP server is started with: one session per load connection (100) and room to spare; the default cap is 32. */
export const BENCH_HTTP_SESSIONS = 256;
