/**
 * A tiny MCP server over stdio with the chat tools' surface, used to show that the
 * probes bite: run healthy it passes the common rules; run with one `--break` it must
 * fail the matching probe, so a green chaos run means something.
 *
 *   node harness/src/toys/toy-server.ts [--break block-loop|ignore-cancel|strict-args] [--log-kib N]
 *
 * - `block-loop`: blocks its event loop for 300 ms on every tool call (responsiveness fails).
 * - `ignore-cancel`: keeps its upstream fetch running after `notifications/cancelled`
 *   (cancellation fails).
 * - `strict-args`: accepts only JSON booleans, not `"true"`/`"false"` (KI-07 fails).
 *
 * `--log-kib N` writes N KiB of log lines to stderr on every call through a synchronous
 * writer, as the seed's log handler did: a client that never reads stderr then stalls it
 * (KI-10).
 *
 * Upstream requests go to `OPENAI_BASE_URL`, `XAI_BASE_URL` and `GEMINI_BASE_URL`, as the
 * real server's do, so the fake API (preload or loopback) sees them.
 */
import { writeSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { TOY_BREAKS } from './toy-command.ts';


const BLOCK_MS = 300;
const UPSTREAM_TIMEOUT_MS = 30_000;

const { values } = parseArgs({ options: { break: { type: 'string', multiple: true }, 'log-kib': { type: 'string' } }, strict: true });
const logKib = Number(values['log-kib'] ?? 0);
const breaks = new Set<string>((values.break ?? []).flatMap((b) => b.split(',')));
for (const b of breaks) {
  if (!(TOY_BREAKS as readonly string[]).includes(b)) {
    process.stderr.write(`toy-server: unknown --break "${b}". Use one of: ${TOY_BREAKS.join(', ')}\n`);
    process.exit(2);
  }
}

const TOOLS: Array<{ tool: string; provider: 'openai' | 'xai' | 'gemini'; model: string }> = [
  { tool: 'chat_with_o3', provider: 'openai', model: 'o3' },
  { tool: 'chat_with_gpt41', provider: 'openai', model: 'gpt-4.1' },
  { tool: 'chat_with_grok4', provider: 'xai', model: 'grok-4' },
  { tool: 'chat_with_gemini25_pro', provider: 'gemini', model: 'gemini-2.5-pro' },
  { tool: 'chat_with_gemini25_flash', provider: 'gemini', model: 'gemini-2.5-flash' },
];

const baseUrl = (provider: string) => {
  const env = { openai: process.env.OPENAI_BASE_URL, xai: process.env.XAI_BASE_URL, gemini: process.env.GEMINI_BASE_URL }[provider];
  return (env ?? 'http://openai.fake/v1').replace(/\/+$/, '');
};
const apiKey = (provider: string) => ({ openai: process.env.OPENAI_API_KEY, xai: process.env.XAI_API_KEY, gemini: process.env.GEMINI_API_KEY })[provider] ?? '';

const lenientBoolean = z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')]);
const booleanArg = breaks.has('strict-args') ? z.boolean() : lenientBoolean;

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const inflight = new Map<number, { tool: string; startedAt: number }>();
let nextCall = 1;

const LOG_LINE = `${JSON.stringify({ level: 'debug', msg: 'toy debug line', pad: 'x'.repeat(60) })}\n`;

/**
 * A synchronous log handler, as the seed had: each line is written to fd 2 before the
 * call goes on, so a client that stops reading stderr stops the whole server once the
 * pipe is full. (Node's own `process.stderr` on a pipe buffers in memory instead.)
 */
function writeLogs(kib: number): void {
  const lines = Math.ceil((kib * 1024) / LOG_LINE.length);
  for (let i = 0; i < lines; i++) writeBlocking(LOG_LINE);
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** fd 2 may be non-blocking (Node sets it so once `process.stderr` is touched): wait and retry, as a blocking write would. */
function writeBlocking(text: string): void {
  let buffer = Buffer.from(text);
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(2, buffer));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Deliberately synchronous: this is the defect the responsiveness probe must catch.
  }
}

async function upstream(provider: 'openai' | 'xai' | 'gemini', model: string, instructions: string, signal: AbortSignal): Promise<string> {
  const openai = provider === 'openai';
  const url = `${baseUrl(provider)}${openai ? '/responses' : '/chat/completions'}`;
  const body = openai ? { model, input: instructions } : { model, messages: [{ role: 'user', content: instructions }] };
  const ignore = breaks.has('ignore-cancel');
  // The defect: no signal at all, only a long timeout, so a cancel never reaches upstream.
  const fetchSignal = ignore ? AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) : AbortSignal.any([signal, AbortSignal.timeout(UPSTREAM_TIMEOUT_MS)]);
  const request = fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey(provider)}` },
    body: JSON.stringify(body),
    signal: fetchSignal,
  }).then(async (response) => {
    const json = (await response.json()) as Record<string, unknown>;
    if (!response.ok) {
      const message = (json.error as { message?: string } | undefined)?.message ?? '';
      throw new Error(`upstream answered ${response.status}${message ? ` (${message})` : ''}`);
    }
    if (openai) {
      const output = json.output as Array<{ type?: string; content?: Array<{ text?: string }> }> | undefined;
      return output?.find((o) => o.type === 'message')?.content?.[0]?.text ?? String(json.output_text ?? '');
    }
    const choices = json.choices as Array<{ message?: { content?: string } }> | undefined;
    return choices?.[0]?.message?.content ?? '';
  });
  if (!ignore) return request;
  // The caller still gets its cancellation; only the upstream request is left running.
  request.catch(() => {});
  return new Promise((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    request.then(resolve, reject);
  });
}

/** Every file under the given paths, depth first. */
async function listFiles(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const entries = await readdir(p, { withFileTypes: true }).catch(() => null);
    if (!entries) {
      out.push(p);
      continue;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(p, e.name);
      if (e.isDirectory()) out.push(...(await listFiles([full])));
      else if (e.isFile()) out.push(full);
    }
  }
  return out;
}

/** Uploads context files one at a time (as `POST /files`), so drivers can act on "the third upload". */
async function uploadContext(paths: string[], signal: AbortSignal): Promise<number> {
  const ignore = breaks.has('ignore-cancel');
  let n = 0;
  for (const file of await listFiles(paths)) {
    if (!ignore) signal.throwIfAborted();
    const form = new FormData();
    form.append('purpose', 'assistants');
    form.append('file', new Blob([await readFile(file)]), file.split('/').at(-1));
    const response = await fetch(`${baseUrl('openai')}/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey('openai')}` },
      body: form,
      signal: ignore ? AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) : AbortSignal.any([signal, AbortSignal.timeout(UPSTREAM_TIMEOUT_MS)]),
    });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`upload of ${file} answered ${response.status}`);
    n += 1;
  }
  return n;
}

const server = new McpServer({ name: 'toy-server', version: '0.0.1' }, { capabilities: { tools: {} } });

for (const { tool, provider, model } of TOOLS) {
  server.registerTool(
    tool,
    {
      description: `Toy ${model}`,
      inputSchema: {
        instructions: z.string().min(1),
        session_id: z.string().min(1),
        context: z.union([z.array(z.string()), z.string()]).optional(),
        disable_memory_search: booleanArg.optional(),
        temperature: z.union([z.number(), z.string().regex(/^\d+(\.\d+)?$/).transform(Number)]).optional(),
      },
    },
    async (args, extra) => {
      const id = nextCall++;
      inflight.set(id, { tool, startedAt: Date.now() });
      try {
        if (breaks.has('block-loop')) busyWait(BLOCK_MS);
        if (logKib > 0) writeLogs(logKib);
        const context = typeof args.context === 'string' ? [args.context] : (args.context ?? []);
        if (context.length && provider === 'openai') await uploadContext(context, extra.signal);
        const text = await upstream(provider, model, args.instructions, extra.signal);
        return { content: [{ type: 'text', text: `${text}\n---\nmodel: ${model} · session: ${args.session_id}` }] };
      } catch (error) {
        return { isError: true, content: [{ type: 'text', text: `Failed to ask ${model}: ${(error as Error).message}. Try again.` }] };
      } finally {
        inflight.delete(id);
      }
    },
  );
}

server.registerTool('server_diagnostics', { description: 'What the toy is doing', inputSchema: {} }, async () => {
  const now = Date.now();
  const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
  const data = {
    pid: process.pid,
    inflight: [...inflight.values()].map((c) => ({ tool: c.tool, phase: 'provider', age_ms: now - c.startedAt })),
    event_loop: { p50_ms: ms(loop.percentile(50)), p99_ms: ms(loop.percentile(99)), max_ms: ms(loop.max) },
    dropped: { logs: 0, spans: 0 },
  };
  return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data };
});

server.registerTool('list_models', { description: 'Toy models', inputSchema: {} }, async () => ({
  content: [{ type: 'text', text: TOOLS.map((t) => `${t.tool}: ${t.model}`).join('\n') }],
}));

await server.connect(new StdioServerTransport());
// A client closing stdin means "shut down", even with an upstream request still open.
process.stdin.once('end', () => process.exit(0));
process.stdin.once('close', () => process.exit(0));
