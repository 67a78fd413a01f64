/**
 * Builds the MCP server: every tool registered, no side effects (no transport, no
 * signal handlers, no timers beyond per-call ones). main.ts connects a transport;
 * tests use InMemoryTransport.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { NegotiatedVersion } from './protocol-version.ts';
import type { App } from '../app.ts';
import { ErrorCode, SbError } from '../errors.ts';
import { droppedLogCount, logBufferStats } from '../logging/logger.ts';
import { PROVIDERS } from '../config/models.ts';
import { runChatCall, contextAttributes, isChatPreview, type ChatCallOutcome, type ChatCallResult, type ChatPreview } from '../flow/chat-call.ts';
import { describeContextFiles } from '../flow/context-files.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { JobRunner } from '../flow/jobs.ts';
import { countProjectTokens } from '../context/index.ts';
import { tokenizerFamilyOf } from '../flow/input-limits.ts';
import { CancellableTaskStore, TASK_POLL_INTERVAL_MS, TASK_TTL_MS, keepDirectPathForPlainCalls } from './tasks.ts';
import { describeArgsError } from '../flow/jobs.ts';
import {
  chatArgsSchema, chatArgsShape, type ChatArgs, countTokensShape, historyShape, jobIdShape, listSessionsShape, startJobShape,
} from '../flow/args.ts';
import { RootsCache } from './roots.ts';
import { runTool, type Extra, type ToolCallHooks, type TransportInfo } from './tool-call.ts';

export const SERVER_NAME = 'second-brain';
export const SERVER_VERSION = '0.1.0';

export interface CreateServerOptions extends ToolCallHooks {
  transport?: 'pipe' | 'tcp';
  /** Connection id used as mcp.session.id on stdio. */
  connectionId?: string;
}

export interface SecondBrainServer {
  mcp: McpServer;
  jobs: JobRunner;
  roots: RootsCache;
  tasks: CancellableTaskStore;
  /** Connects the server to a transport (use this, not `mcp.connect`: it records the negotiated protocol version for spans). */
  connect(transport: Transport): Promise<void>;
  /** Shutdown: hands jobs off, aborts running tasks and clears task timers, within `deadlineMs`. */
  handOff(deadlineMs: number): Promise<void>;
}

/** Chat tools: they send files and questions to a provider (open world) and are billed, so not read-only. */
const CHAT_TOOL_HINTS = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true } as const;
/** Tools that only read this server's own state or the local disk. */
const LOCAL_READ_HINTS = { readOnlyHint: true, openWorldHint: false } as const;

function text(s: string, structured?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: s }], ...(structured ? { structuredContent: structured } : {}) };
}

function formatAnswer(r: ChatCallResult): string {
  const lines = [r.text, '', '---', `model: ${r.model} (${r.model_id}) · session: ${r.session_id}${r.usage ? ` · tokens in/out: ${r.usage.input_tokens}/${r.usage.output_tokens}` : ''} · ${Math.round(r.elapsed_ms / 100) / 10} s`];
  if (r.incomplete) lines.push(`status: incomplete (${r.incomplete.reason}): the answer above is partial`);
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.context) {
    lines.push(r.context.report);
    // Older stored job results have no file lists.
    if (r.context.files) lines.push(...describeContextFiles(r.context.files, { skippedListedAbove: true }));
  }
  return lines.join('\n');
}

/** A dry run's or a held-back call's answer: what would be sent, the estimate, and how to go ahead. */
function formatPreview(r: ChatPreview): string {
  const head = r.status === 'dry_run' ? `Dry run for ${r.model_id}: nothing was sent.` : `Not sent: confirmation needed for ${r.model_id}.`;
  const lines = [head, ...r.notes, r.next_step];
  if (r.context) lines.push('', r.context.report, ...describeContextFiles(r.context.files, { skippedListedAbove: true }));
  return lines.join('\n');
}

function formatOutcome(r: ChatCallOutcome): string {
  return isChatPreview(r) ? formatPreview(r) : formatAnswer(r);
}

export function createServer(app: App, options: CreateServerOptions = {}): SecondBrainServer {
  const taskStore = new CancellableTaskStore();
  const mcp = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      capabilities: { tools: {}, logging: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      taskStore,
      instructions: 'Ask other models (o3, o3-pro, GPT-4.1, Grok 4, Gemini 2.5) about this codebase. Pass files with `context`; reuse `session_id` for follow-ups. For answers that may take minutes, use start_job and poll_job.',
    },
  );
  const roots = new RootsCache(mcp.server, app.config.allowedPaths);
  const jobs = new JobRunner(app, (signal) => roots.get(signal));
  const negotiated = new NegotiatedVersion();
  const info: TransportInfo = {
    transport: options.transport ?? 'pipe',
    sessionId: options.connectionId ?? app.instanceId,
    protocolVersion: () => negotiated.value,
  };
  const hooks: ToolCallHooks = { onToolEnd: options.onToolEnd };

  const setup: ToolSetup = { app, mcp, hooks, info, roots, jobs, taskStore };
  registerChatTools(setup);
  registerLocalTools(setup);
  registerJobTools(setup);

  return {
    mcp, jobs, roots, tasks: taskStore,
    async connect(transport: Transport) {
      negotiated.watch(transport);
      await mcp.connect(transport);
    },
    async handOff(deadlineMs: number) {
      taskStore.abortAll(new SbError(ErrorCode.SHUTTING_DOWN, 'The server is shutting down.'));
      await jobs.handOff(deadlineMs);
      taskStore.cleanup();
    },
  };
}

/** What the tool registrations share: the app, the SDK server, the call hooks and the per-connection helpers. */
interface ToolSetup {
  app: App;
  mcp: McpServer;
  hooks: ToolCallHooks;
  info: TransportInfo;
  roots: RootsCache;
  jobs: JobRunner;
  taskStore: CancellableTaskStore;
}

/** One tool per model of the catalogue, runnable as a plain call or as an MCP task. */
function registerChatTools(t: ToolSetup): void {
  const { app, mcp, hooks, info, roots, taskStore } = t;
  const direct = new Map<string, (args: ChatArgs, extra: Extra) => Promise<CallToolResult>>();
  for (const model of app.config.catalogue.values()) {
    const run = (args: ChatArgs, extra: Extra) => runTool(app, hooks, info, model.tool, extra, async (ctx) => {
      ctx.call.sessionId = args.session_id;
      const r = await runChatCall(app, model, args, {
        signal: ctx.signal, roots: await roots.get(ctx.signal), call: ctx.call, progress: ctx.progress,
      });
      if (!isChatPreview(r)) for (const [k, v] of Object.entries(contextAttributes(r))) ctx.span.setAttribute(k, v);
      return text(formatOutcome(r), { ...r });
    });
    direct.set(model.tool, run);
    mcp.experimental.tasks.registerToolTask(model.tool, {
      title: `Ask ${model.id}`,
      description: `${model.description} Context window ${model.context_window.toLocaleString('en-US')} tokens; default deadline ${model.timeout_s} s${model.background ? '; runs in background mode with progress' : ''}. Returns the answer with the model name, token usage and the files sent inline, to the vector store and left out. dry_run: true answers with what would be sent and a cost estimate, sending nothing; a call above SECOND_BRAIN_CONFIRM_ABOVE_TOKENS input tokens needs confirm_large: true. Clients that support MCP tasks may run it as a task.`,
      inputSchema: chatArgsShape,
      // Not read-only: a call uploads files to the provider and spends money; open world: it talks to the provider.
      annotations: CHAT_TOOL_HINTS,
      execution: { taskSupport: 'optional' },
    }, {
      createTask: async (args, extra) => {
        const task = await extra.taskStore.createTask({ ttl: TASK_TTL_MS, pollInterval: TASK_POLL_INTERVAL_MS });
        const controller = new AbortController();
        taskStore.track(task.taskId, controller);
        const signal = AbortSignal.any([controller.signal, app.lifetime.signal]);
        // The task runs detached from the tools/call request, which returns at once.
        void run(args, { ...extra, signal, _meta: {} }).then(async (result) => {
          if (controller.signal.aborted) return;
          await extra.taskStore.storeTaskResult(task.taskId, result.isError ? 'failed' : 'completed', result);
        }).catch((err) => app.log.warn({ task: task.taskId, err: String(err) }, 'task result could not be stored'))
          .finally(() => taskStore.untrack(task.taskId));
        return { task };
      },
      getTask: async (_args, extra) => {
        const t = await extra.taskStore.getTask(extra.taskId);
        if (!t) throw new SbError(ErrorCode.JOB_NOT_FOUND, `Failed to find task ${extra.taskId}.`);
        return t;
      },
      getTaskResult: async (_args, extra) => await extra.taskStore.getTaskResult(extra.taskId) as CallToolResult,
    });
  }
  keepDirectPathForPlainCalls(mcp, async (name, rawArgs, extra) => {
    const run = direct.get(name)!;
    const parsed = chatArgsSchema.safeParse(rawArgs ?? {});
    if (!parsed.success) {
      return { isError: true, content: [{ type: 'text', text: `Input validation error: Invalid arguments for tool ${name}: ${describeArgsError(parsed.error.issues)}` }] };
    }
    return run(parsed.data, extra as Extra);
  });
}

/** Tools that read this server's own state or the local disk: models, token counts, sessions, history, diagnostics. */
function registerLocalTools(t: ToolSetup): void {
  const { app, mcp, hooks, info, roots, jobs } = t;
  mcp.registerTool('list_models', {
    title: 'List models',
    description: 'Lists the models this server can ask, with their tool names, context windows, deadlines and whether the provider key is set.',
    inputSchema: {},
    annotations: LOCAL_READ_HINTS,
  }, (_args, extra) => runTool(app, hooks, info, 'list_models', extra, async () => ({ ...listModelsResult(app) })));

  mcp.registerTool('count_project_tokens', {
    title: 'Count project tokens',
    description: 'Counts the tokens a chat call over these files or directories would send (.gitignore honoured, binaries and secrets skipped): file content plus the per-file framing and the file tree, per tokenizer family, with the largest files and directories. With `model`, also how much would go inline and how much would overflow for that model. Use it to choose context that fits.',
    inputSchema: countTokensShape,
    annotations: LOCAL_READ_HINTS,
  }, (args, extra) => runTool(app, hooks, info, 'count_project_tokens', extra, async (ctx) => {
    app.inflight.setPhase(ctx.call, 'gather');
    const entry = args.model === undefined ? undefined
      : [...app.config.catalogue.values()].find((m) => m.id === args.model || m.tool === args.model || m.api_model === args.model);
    if (args.model !== undefined && !entry) {
      throw new SbError(ErrorCode.UNKNOWN_MODEL, `Failed to count project tokens: unknown model "${args.model}". Use a model id or chat tool name from list_models (${[...app.config.catalogue.keys()].join(', ')}).`);
    }
    const model = entry ? {
      id: entry.id, contextWindow: entry.context_window, tokenizerFamily: tokenizerFamilyOf(entry),
      overflow: entry.vector_stores && app.services.vectorStores ? 'vector-store' as const : 'omitted' as const,
    } : undefined;
    const r = await countProjectTokens({
      paths: args.paths, roots: await roots.get(ctx.signal), signal: ctx.signal, include: args.include, exclude: args.exclude, ...(model ? { model } : {}),
    });
    const n = (x: number) => x.toLocaleString('en-US');
    const f = r.families;
    const lines = [`${n(r.totalTokens)} tokens in ${n(r.totalFiles)} files as a call would send them with everything inline (${r.tokenizerFamily}): ${n(r.contentTokens)} content, ${n(f[r.tokenizerFamily].framingTokens)} per-file framing, ${n(f[r.tokenizerFamily].treeTokens)} file tree, ${n(f[r.tokenizerFamily].frameTokens)} prompt text`,
      `by family: o200k (OpenAI) ${n(f.o200k.totalTokens)}, estimate (xAI, Gemini) ${n(f.estimate.totalTokens)}`];
    if (r.split) {
      const s = r.split;
      lines.push(`for ${s.model} (${n(s.contextWindow)}-token window, ${n(s.budgetTokens)}-token budget): ${n(s.inlineFiles)} files inline (${n(s.inlineTokens)} tokens), `
        + `${n(s.overflowFiles)} overflow (${n(s.overflowTokens)} tokens, ${n(s.overflowBytes)} bytes${s.overflow === 'vector-store' ? `, to the vector store in ${s.overflowBundles} bundle(s)` : ', not sent'}); the context text would be ${n(s.promptTokens)} tokens`);
    }
    lines.push('largest files:', ...r.largestFiles.slice(0, 10).map((x: { path: string; tokens: number }) => `  ${n(x.tokens)}  ${x.path}`),
      'largest directories:', ...r.largestDirs.slice(0, 10).map((d: { path: string; tokens: number }) => `  ${n(d.tokens)}  ${d.path}`));
    if (r.notIncluded) lines.push(`${n(r.notIncluded)} file(s) not matched by include`);
    if (r.skippedTotal) {
      const max = DEFAULTS.CONTEXT_REPORT_NAMES_MAX;
      lines.push(`skipped ${n(r.skippedTotal)} file(s) or directories:`, ...r.skipped.slice(0, max).map((x) => `  ${x.path} (${x.reason})`));
      if (r.skippedTotal > max) lines.push(`  … and ${n(r.skippedTotal - Math.min(max, r.skipped.length))} more (structuredContent.skipped lists ${r.skipped.length === r.skippedTotal ? 'them all' : `the first ${n(r.skipped.length)}`})`);
    }
    return text(lines.join('\n'), { ...r });
  }));

  mcp.registerTool('list_sessions', {
    title: 'List sessions',
    description: 'Lists recent conversations (session id, model, number of turns, last activity), most recent first.',
    inputSchema: listSessionsShape,
    annotations: LOCAL_READ_HINTS,
  }, (args, extra) => runTool(app, hooks, info, 'list_sessions', extra, async () => {
    const sessions = app.sessions.list(args.limit ?? 50);
    return text(sessions.length ? sessions.map((s) => `${s.session_id} · ${s.model} · ${s.turns} turn(s) · ${s.updated_at}`).join('\n') : 'No sessions yet.', { sessions });
  }));

  mcp.registerTool('search_project_history', {
    title: 'Search project history',
    description: 'Searches summaries of earlier conversations about this project (questions, answers, files, git branch). Results may be outdated: check them against the current code.',
    inputSchema: historyShape,
    // Read-only, but it searches the project memory kept in an OpenAI vector store.
    annotations: { readOnlyHint: true, openWorldHint: true },
  }, (args, extra) => runTool(app, hooks, info, 'search_project_history', extra, async (ctx) => {
    const memory = app.services.memory;
    if (!memory || !app.config.memoryEnabled) {
      throw new SbError(ErrorCode.INVALID_ARGUMENT, 'Failed to search project history: project memory is off. Set SECOND_BRAIN_MEMORY=true and OPENAI_API_KEY to turn it on.');
    }
    const results = await memory.search({ query: args.query, maxResults: args.max_results ?? 10, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(60_000)]) });
    return text(results.length ? JSON.stringify(results, null, 2) : 'No earlier conversations matched.', { results });
  }));

  mcp.registerTool('server_diagnostics', {
    title: 'Server diagnostics',
    description: 'What the server is doing right now: in-flight calls with phase and age, event-loop delay, dropped logs and spans, circuit and rate-limit state per provider, vector-store and memory figures. Answers even while other calls run.',
    inputSchema: {},
    annotations: LOCAL_READ_HINTS,
  }, (_args, extra) => runTool(app, hooks, info, 'server_diagnostics', extra, async (ctx) => {
    // Test-only defect switch (KI-20): diagnostics queue behind the work they should describe.
    if (app.config.testDefects.has('diagnostics-behind-calls')) {
      while (app.inflight.size > 1) await new Promise((r) => setTimeout(r, 20));
      ctx.signal.throwIfAborted();
    }
    const d = diagnostics(app, jobs);
    return text(JSON.stringify(d, null, 2), d);
  }));
}

/** Background jobs that survive a restart: start, poll, cancel. */
function registerJobTools(t: ToolSetup): void {
  const { app, mcp, hooks, info, jobs } = t;
  mcp.registerTool('start_job', {
    title: 'Start a background job',
    description: 'Starts a chat tool in the background and returns a job id at once. Use it when an answer may take longer than your client waits (o3-pro, big contexts). Then call poll_job. Jobs survive a server restart.',
    inputSchema: startJobShape,
    // Starts a chat call (upstream, costs money) but destroys nothing.
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  }, (args, extra) => runTool(app, hooks, info, 'start_job', extra, async () => {
    const v = jobs.start(args.tool, args.args);
    return text(`Started ${v.job_id} (${v.tool}). Call poll_job with this id.`, { ...v });
  }));

  mcp.registerTool('poll_job', {
    title: 'Poll a background job',
    description: 'Returns a job\'s status, progress, and its result once completed.',
    inputSchema: jobIdShape,
    annotations: LOCAL_READ_HINTS,
  }, (args, extra) => runTool(app, hooks, info, 'poll_job', extra, async () => {
    const v = jobs.poll(args.job_id);
    const r = v.result as ChatCallOutcome | undefined;
    const body = v.status === 'completed' && r ? formatOutcome(r)
      : v.status === 'failed' || v.status === 'cancelled' ? `${v.status}: ${v.error?.message ?? ''}`
        : `${v.status}${v.progress ? `: ${v.progress}` : ''}. Poll again in a few seconds.`;
    return text(body, { ...v });
  }));

  mcp.registerTool('cancel_job', {
    title: 'Cancel a background job',
    description: 'Cancels a running job, including its upstream response.',
    inputSchema: jobIdShape,
    // Changes a job's state and cancels its upstream response; cancelling twice changes nothing more.
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, (args, extra) => runTool(app, hooks, info, 'cancel_job', extra, async () => {
    const v = jobs.cancel(args.job_id);
    return text(`${v.job_id}: ${v.status}`, { ...v });
  }));
}

/**
 * The list_models answer. The catalogue and the keys are fixed when the App is created,
 * so it is built once per App rather than on every call (over HTTP each session has its
 * own McpServer, so the cache lives with the App).
 */
const listModelsCache = new WeakMap<App, CallToolResult>();
function listModelsResult(app: App): CallToolResult {
  let r = listModelsCache.get(app);
  if (!r) {
    const models = [...app.config.catalogue.values()].map((m) => ({
      id: m.id, tool: m.tool, provider: m.provider, api_model: m.api_model, context_window: m.context_window,
      timeout_s: m.timeout_s, background: m.background, reasoning_efforts: m.reasoning_efforts,
      supports_temperature: m.supports_temperature, vector_stores: m.vector_stores,
      key_set: app.clients.hasKey(m.provider), key_variable: app.clients.config(m.provider).keyVar,
    }));
    r = text(models.map((m) => `${m.tool}: ${m.id} (${m.provider}, ${m.context_window} tokens, ${m.timeout_s} s)${m.key_set ? '' : ` — set ${m.key_variable} to use it`}`).join('\n'), { models });
    listModelsCache.set(app, r);
  }
  return r;
}

/** The server_diagnostics payload (KI-20). */
export function diagnostics(app: App, jobs: JobRunner): Record<string, unknown> {
  const providers: Record<string, unknown> = {};
  for (const p of PROVIDERS) providers[p] = { key_set: app.clients.hasKey(p), ...app.resilience[p].state() };
  const loop = app.services.loopStats?.() ?? app.loop.snapshot();
  const dropped = app.services.droppedTelemetry?.() ?? { spans: 0, logs: droppedLogCount() };
  const logBuffer = logBufferStats();
  return {
    pid: process.pid,
    instance: app.instanceId,
    uptime_s: Math.round((Date.now() - app.startedAt) / 1000),
    inflight: app.inflight.snapshot(),
    inflight_by_phase: app.inflight.countByPhase(),
    event_loop: loop,
    dropped: { logs: dropped.logs, spans: dropped.spans },
    ...(logBuffer ? { log_buffer: logBuffer } : {}),
    providers,
    limiters: { session_locks_held: app.locks.held, jobs_running: jobs.runningCount },
    ...(app.services.vectorStores ? { vector_stores: app.services.vectorStores.stats() } : {}),
    ...(app.services.memory ? { memory: app.services.memory.stats() } : {}),
    ...(app.services.httpSessions ? { http: app.services.httpSessions() } : {}),
    memory_usage_mb: Math.round(process.memoryUsage().rss / 1048576),
    // Heap and off-heap (Buffers) apart from RSS: tells retained objects from pages the allocator keeps.
    heap_used_mb: Math.round(process.memoryUsage().heapUsed / 1048576),
    external_mb: Math.round(process.memoryUsage().external / 1048576),
    memory_reclaim: app.reclaim.stats(),
  };
}
