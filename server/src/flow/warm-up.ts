/**
 * Start-up warm-up of the call path (KI-20, the "responsive" rule). The first chat call
 * after start used to block the event loop for 80–170 ms: V8 compiles every function of
 * the openai SDK, undici (and its llhttp WASM parser), zod's generated parsers and the
 * SQLite statements the first time they run, all inside the first call, while the client
 * waited for pings. main.ts runs this once, before the transport connects, so that cost
 * is paid while nobody is waiting.
 *
 * Nothing reaches a provider: the SDK talks to a throw-away HTTP server on 127.0.0.1,
 * with tracing suppressed so no span of it is exported.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { CallToolRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../app.ts';
import { chatArgsSchema } from './args.ts';
import { parseRetryAfterMs } from '../resilience/retry-after.ts';
import { countTokens } from '../context/index.ts';
import { DEFAULTS } from '../config/defaults.ts';

export const WARM_UP_TIMEOUT_MS = DEFAULTS.WARM_UP_TIMEOUT_MS;

export interface WarmUpResult {
  ms: number;
  /** What was warmed; a step that failed is listed with its error and skipped. */
  steps: Array<{ step: string; ms: number; error?: string }>;
}

const RESPONSE_BODY = JSON.stringify({
  id: 'resp_warm_up', object: 'response', created_at: 0, status: 'completed', model: 'warm-up',
  output: [{ type: 'message', id: 'msg_warm_up', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
});
const COMPLETION_BODY = JSON.stringify({
  id: 'chatcmpl-warm-up', object: 'chat.completion', created: 0, model: 'warm-up',
  choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'ok' } }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

function stubHandler(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  req.once('end', () => {
    const body = req.url?.includes('/chat/completions') ? COMPLETION_BODY : RESPONSE_BODY;
    res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '1', connection: 'close' });
    res.end(body);
  });
}

/**
 * Runs every step of the first call that costs compile time, against local stand-ins.
 * Never throws: a failing step is recorded and the rest still run.
 */
export async function warmUp(app: App, signal: AbortSignal = AbortSignal.timeout(WARM_UP_TIMEOUT_MS)): Promise<WarmUpResult> {
  const started = performance.now();
  const steps: WarmUpResult['steps'] = [];
  const step = async (name: string, fn: () => unknown): Promise<void> => {
    const t0 = performance.now();
    try {
      await fn();
      steps.push({ step: name, ms: Math.round(performance.now() - t0) });
    } catch (err) {
      steps.push({ step: name, ms: Math.round(performance.now() - t0), error: String((err as Error)?.message ?? err) });
    }
  };

  // zod compiles a parser per schema on first use.
  await step('schemas', () => {
    CallToolRequestSchema.safeParse({ method: 'tools/call', params: { name: 'chat_with_gpt41', arguments: { instructions: 'warm-up' }, _meta: { progressToken: 1 } } });
    chatArgsSchema.safeParse({ instructions: 'warm-up', session_id: 'warm-up', context: ['.'], disable_memory_search: 'true', temperature: '0.2' });
    chatArgsSchema.safeParse({ instructions: 'warm-up', session_id: 'warm-up', disable_memory_search: 'maybe' });
  });
  // Statements of the session path (reads only: nothing is written).
  await step('state', () => {
    app.sessions.get('warm-up', 'warm-up');
    app.sessions.history('warm-up', 'warm-up');
    app.rateLimits.get('warm-up');
  });
  // The real provider clients (constructed lazily otherwise, on the first call).
  await step('clients', () => {
    for (const p of ['openai', 'xai', 'gemini'] as const) if (app.clients.hasKey(p)) app.clients.get(p);
  });
  await Promise.all([
    // The tokenizer threads load their encoding off the loop, but only when first asked;
    // without this the first call with context waited ~400 ms for them.
    step('tokenizer', () => countTokens(['warm-up'], 'o200k', signal)),
    // One round trip of each API shape through the SDK, fetch and undici, to ourselves.
    step('http', () => context.with(suppressTracing(context.active()), () => roundTrips(signal))),
  ]);
  return { ms: Math.round(performance.now() - started), steps };
}

async function roundTrips(signal: AbortSignal): Promise<void> {
  const server = createServer(stubHandler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    const { port } = server.address() as AddressInfo;
    const client = new OpenAI({ apiKey: 'warm-up', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, timeout: WARM_UP_TIMEOUT_MS });
    const r = await client.responses.create({ model: 'warm-up', input: 'warm-up', store: false }, { signal }).withResponse();
    parseRetryAfterMs(r.response.headers);
    await client.chat.completions.create({ model: 'warm-up', messages: [{ role: 'user', content: 'warm-up' }] }, { signal }).withResponse();
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
