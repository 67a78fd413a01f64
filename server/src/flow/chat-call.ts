/**
 * One chat call, start to end, as named stages:
 *
 *   preflight → acquire the session → gather context → check before sending
 *   → attach overflow → send → record → reply
 *
 * "Check before sending" is where a dry run, or a call over the confirmation threshold,
 * returns what would be sent and its estimate: nothing after it runs, so nothing goes
 * upstream. Providers know nothing of MCP; this module knows nothing of transports. Every
 * await takes the call's signal, which combines the client's cancel with the call's
 * deadline (KI-03, KI-05).
 */
import { addAbortListener } from 'node:events';
import type { App } from '../app.ts';
import type { ModelEntry } from '../config/models.ts';
import { ErrorCode, abortReasonToError, isSbError } from '../errors.ts';
import type { ChatArgs } from './args.ts';
import type { InflightCall } from '../runtime/inflight.ts';
import type { ChatRequest, ChatResult, ChatUsage } from '../providers/types.ts';
import { prepareContext, recordSent, forgetSent, fileContent, type PreparedContext } from '../context/index.ts';
import {
  ATTR_SB_FILES_INLINE, ATTR_SB_FILES_OVERFLOW, ATTR_SB_FILES_SKIPPED, ATTR_SB_TOKENS_INLINE, ATTR_SB_BUDGET_TOKENS,
  ATTR_SB_UPLOAD_FILES, ATTR_SB_UPLOAD_FAILED,
} from '../telemetry/semconv.ts';
import { withSpan } from '../telemetry/spans.ts';
import { countUpload } from '../telemetry/metrics.ts';
import { assertInstructionsFit, tokenizerFamilyOf } from './input-limits.ts';
import { deadline as startDeadline } from '../runtime/deadline.ts';
import type { Phase } from '../runtime/inflight.ts';
import { type ContextFiles, contextFiles } from './context-files.ts';
import { type ChatPreview, previewIfHeld } from './preview.ts';

export { isChatPreview, type ChatPreview } from './preview.ts';

export interface ChatCallEnv {
  /** The client's cancel signal (MCP request signal, or a job's controller). */
  signal: AbortSignal;
  roots: string[];
  call: InflightCall;
  progress: (message: string) => void;
  /** Called with a background response id before polling starts (jobs persist it). */
  onBackgroundId?: (id: string) => void | Promise<void>;
}

export interface ChatCallResult {
  text: string;
  model: string;
  model_id: string;
  session_id: string;
  response_id?: string;
  usage?: ChatUsage;
  notes: string[];
  /** Present when the answer is partial: the provider stopped early, for `reason`. */
  incomplete?: { reason: string };
  context?: {
    files_inline: number;
    /** Tokens of the inline files, delimiters included (the model's tokenizer family). */
    tokens_inline: number;
    files_already_sent: number;
    files_in_vector_store: number;
    files_left_out: number;
    files_skipped: number;
    vector_store_id?: string;
    not_attached?: Array<{ path: string; reason: string }>;
    report: string;
    /** Every file by class: inline, already sent, vector store, left out with its reason. */
    files: ContextFiles;
  };
  elapsed_ms: number;
}

export type ChatCallOutcome = ChatCallResult | ChatPreview;

/** Session-scoped key: chains and "already sent" files are per (session, model). */
export function sessionKey(sessionId: string, model: ModelEntry): string {
  return `${sessionId}::${model.id}`;
}

function systemPrompt(args: ChatArgs, hasStore: boolean, memory: boolean): string {
  const lines = [
    'You are consulted by a coding assistant about a codebase. Answer precisely and cite files as path:line where you can.',
  ];
  if (hasStore) lines.push('Some project files are attached to a vector store rather than inline; the file tree marks them. Use file_search to read them when they matter. In the store, files are packed into bundle documents; each file there starts with a line "===== BEGIN FILE <path> =====" naming it.');
  if (memory) lines.push('Earlier conversations about this project are searchable with file_search too; treat them as possibly outdated.');
  if (args.output_format) lines.push(`Format the answer as follows: ${args.output_format}`);
  return lines.join('\n');
}

export async function runChatCall(app: App, model: ModelEntry, args: ChatArgs, env: ChatCallEnv): Promise<ChatCallOutcome> {
  const started = Date.now();
  const timeoutMs = model.timeout_s * 1000;
  // Cleared when the call ends (runtime/deadline.ts): AbortSignal.timeout would pin the
  // call's signals until the deadline, long after the reply.
  const callDeadline = startDeadline(timeoutMs, env.signal, app.lifetime.signal);
  try {
    return await runStages(newRun(app, model, args, env, started, timeoutMs, callDeadline.signal));
  } finally {
    callDeadline.dispose();
  }
}

/** Everything the stages of one call share. */
interface Run {
  app: App;
  model: ModelEntry;
  args: ChatArgs;
  env: ChatCallEnv;
  started: number;
  timeoutMs: number;
  deadline: number;
  signal: AbortSignal;
  /** Session-scoped key (session, model). */
  key: string;
  /** Responses chains remember what was sent inline; Chat Completions providers get the full context every time. */
  useChain: boolean;
  notes: string[];
  setPhase: (p: Phase) => void;
  /** Signals of the context and upload stages (test-only defect switches may detach them from the cancel, KI-03). */
  gatherSignal: AbortSignal;
  uploadSignal: AbortSignal;
}

function newRun(app: App, model: ModelEntry, args: ChatArgs, env: ChatCallEnv, started: number, timeoutMs: number, signal: AbortSignal): Run {
  // Test-only defect switches (KI-03): the context and upload stages get a signal that only
  // the deadline aborts, as when the cancel was not passed down to them.
  const defects = app.config.testDefects;
  const deadlineOnly = () => AbortSignal.any([AbortSignal.timeout(timeoutMs), app.lifetime.signal]);
  return {
    app, model, args, env, started, timeoutMs, deadline: started + timeoutMs, signal,
    key: sessionKey(args.session_id, model),
    useChain: model.api === 'responses',
    notes: [],
    setPhase: (p) => app.inflight.setPhase(env.call, p),
    gatherSignal: defects.has('gather-ignores-signal') ? deadlineOnly() : signal,
    uploadSignal: defects.has('upload-ignores-signal') ? deadlineOnly() : signal,
  };
}

async function runStages(run: Run): Promise<ChatCallOutcome> {
  const { signal } = run;
  await preflight(run);
  const release = await acquireSession(run);
  try {
    const ctx = await gatherContext(run, false);
    const preview = await checkBeforeSending(run, ctx);
    if (preview) return preview;
    const attached = await attachOverflow(run, ctx);
    const sent = await send(run, ctx, attached);
    await record(run, sent);
    return reply(run, sent, attached);
  } catch (err) {
    if (signal.aborted && !isSbError(err)) throw abortReasonToError(signal.reason);
    if (signal.aborted && isSbError(err) && err.code === ErrorCode.INTERNAL) throw abortReasonToError(signal.reason);
    throw err;
  } finally {
    release();
  }
}

/** Stage 1: fail fast, before any file is read, on a missing key or instructions that alone overflow the window. */
async function preflight(run: Run): Promise<void> {
  run.app.clients.get(run.model.provider);
  await assertInstructionsFit(run.model, run.args.instructions, run.signal);
}

/** Stage 2: wait for earlier calls of the same session (and model) to finish. Returns the release. */
async function acquireSession(run: Run): Promise<() => void> {
  const { app, signal } = run;
  run.setPhase('session_wait');
  try {
    // KI-20: time spent behind an earlier call of the same session shows in the trace.
    return await withSpan('session.wait', {}, () => app.locks.acquire(run.key, signal));
  } catch (err) {
    throw abortReasonToError(signal.reason ?? err);
  }
}

/** Where this call's overflow goes: a vector store when the model and the server have one. */
function overflowToStore(run: Run): boolean {
  return run.model.vector_stores && Boolean(run.app.services.vectorStores);
}

/**
 * Stage 3: gather, count and lay out the context (undefined when the call names no paths).
 * `fresh` sends everything again, as after an expired chain.
 */
async function gatherContext(run: Run, fresh: boolean): Promise<PreparedContext | undefined> {
  const { app, model, args, env } = run;
  const paths = args.context ?? [];
  const priority = args.priority_context ?? [];
  if (paths.length === 0 && priority.length === 0) return undefined;
  run.setPhase('gather');
  return withSpan('context.prepare', {}, async (span) => {
    const c = await prepareContext({
      db: app.db,
      sessionId: run.useChain && !fresh ? run.key : undefined,
      model: { contextWindow: model.context_window, tokenizerFamily: tokenizerFamilyOf(model) },
      paths, priorityPaths: priority, roots: env.roots,
      instructions: args.instructions,
      overflow: overflowToStore(run) ? 'vector-store' : 'omitted',
      include: args.include, exclude: args.exclude,
      signal: run.gatherSignal,
      onProgress: (done: number, total: number, message: string) => env.progress(message || `read ${done}/${total} files`),
    });
    span.setAttributes({
      [ATTR_SB_FILES_INLINE]: c.inline.length, [ATTR_SB_FILES_OVERFLOW]: c.overflow.length,
      [ATTR_SB_FILES_SKIPPED]: c.skipped.length, [ATTR_SB_TOKENS_INLINE]: c.stats.inlineTokens,
      [ATTR_SB_BUDGET_TOKENS]: c.stats.budgetTokens,
    });
    return c;
  });
}

/** Stage 4: a dry run, or a call over the confirmation threshold without `confirm_large`, ends here. */
function checkBeforeSending(run: Run, ctx: PreparedContext | undefined): Promise<ChatPreview | undefined> {
  return previewIfHeld({
    model: run.model, args: run.args, ctx, threshold: run.app.config.confirmAboveTokens, toVectorStore: overflowToStore(run),
    started: run.started, notes: run.notes, signal: run.signal,
  });
}

/** What the attach stage did with the overflow. */
interface Attached {
  vectorStoreId?: string;
  notAttached: Array<{ path: string; reason: string }>;
  /** Overflow files not sent at all (no vector store). */
  leftOut: number;
}

/** Stage 5: overflow goes to the session's vector store, or is listed as left out. */
async function attachOverflow(run: Run, ctx: PreparedContext | undefined): Promise<Attached> {
  const { app, model, env, notes } = run;
  const out: Attached = { notAttached: [], leftOut: 0 };
  if (!ctx || ctx.overflow.length === 0) return out;
  if (!overflowToStore(run)) {
    out.leftOut = ctx.overflow.length;
    notes.push(`${out.leftOut} file(s) did not fit ${model.id}'s budget and were left out (this provider has no vector store): ${ctx.overflow.slice(0, 10).map((f: { relPath: string }) => f.relPath).join(', ')}${out.leftOut > 10 ? ', …' : ''}. Narrow the context or use priority_context for the files that matter.`);
    return out;
  }
  run.setPhase('upload');
  const defects = app.config.testDefects;
  const up = await withSpan('context.upload', { attributes: { [ATTR_SB_UPLOAD_FILES]: ctx.overflow.length } }, async (span) => {
    const manager = app.services.vectorStores!;
    const onProgress = (_d: number, _t: number, message: string) => env.progress(message);
    // Test-only defect switch: one upload per overflow file, as before bundles.
    const r = defects.has('per-file-uploads')
      ? await manager.attachFiles({ sessionId: run.key, files: ctx.overflow, signal: run.uploadSignal, onProgress })
      : await manager.attachOverflow({
        sessionId: run.key, signal: run.uploadSignal, onProgress,
        scope: new Map([...ctx.inline, ...ctx.alreadySent, ...ctx.overflow].filter((f) => f.sha256).map((f) => [f.relPath, f.sha256!])),
        // The bytes the gatherer holds go into the bundles as they are: no decode, no second read.
        files: ctx.overflow.map((f) => {
          const content = fileContent(f);
          return { absPath: f.absPath, relPath: f.relPath, size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256,
            ...(typeof content === 'string' ? { text: content } : { bytes: content }) };
        }),
      });
    span.setAttribute(ATTR_SB_UPLOAD_FAILED, r.failed.length);
    if (r.uploaded) countUpload(r.uploaded);
    return r;
  });
  out.vectorStoreId = up.vectorStoreId;
  out.notAttached = up.failed.map((f) => ({ path: f.relPath, reason: f.reason }));
  if (out.notAttached.length) notes.push(`${out.notAttached.length} file(s) could not be attached to the vector store: ${out.notAttached.slice(0, 10).map((f) => `${f.path} (${f.reason})`).join(', ')}${out.notAttached.length > 10 ? ', …' : ''}.`);
  return out;
}

/** What the send stage returns: the answer, and the context it went with (rebuilt after an expired chain). */
interface Sent {
  result: ChatResult;
  ctx: PreparedContext | undefined;
  background: boolean;
}

/** Stage 6: the provider request, starting a fresh thread once if the provider forgot the chain (KI-15). */
async function send(run: Run, first: PreparedContext | undefined, attached: Attached): Promise<Sent> {
  const { app, model, args, env, signal, useChain, notes } = run;
  let session = app.sessions.get(args.session_id, model.id);
  const memoryStore = !args.disable_memory_search && model.vector_stores ? app.services.memory?.storeId?.() : undefined;
  const storeIds = [attached.vectorStoreId, memoryStore].filter((x): x is string => Boolean(x));
  const provider = app.providers[model.provider];
  const background = model.background || run.timeoutMs >= app.config.backgroundThresholdMs;
  const makeReq = (c: PreparedContext | undefined, previous: string | undefined): ChatRequest => ({
    model,
    instructions: args.instructions,
    contextText: c?.promptText ?? '',
    system: systemPrompt(args, Boolean(attached.vectorStoreId), Boolean(memoryStore)),
    previousResponseId: previous,
    history: useChain ? undefined : app.sessions.history(args.session_id, model.id),
    vectorStoreIds: storeIds.length ? storeIds : undefined,
    reasoningEffort: args.reasoning_effort,
    temperature: args.temperature,
    structuredOutputSchema: args.structured_output_schema,
    background,
    sessionId: args.session_id,
  });
  const callEnv = {
    signal, deadline: run.deadline, progress: env.progress, setPhase: run.setPhase,
    onBackgroundId: env.onBackgroundId,
  };
  let ctx = first;
  let result: ChatResult;
  try {
    result = await provider.chat(makeReq(ctx, useChain ? session?.last_response_id : undefined), callEnv);
  } catch (err) {
    if (!isSbError(err, ErrorCode.PREVIOUS_RESPONSE_NOT_FOUND)) throw err;
    // KI-15: the provider forgot the chain. Start fresh with the full context and say so.
    app.sessions.resetChain(args.session_id, model.id);
    await forgetSent(app.db, run.key, signal);
    session = undefined;
    notes.push('The previous response of this session had expired at the provider, so this answer starts a fresh thread with the full context.');
    ctx = await gatherContext(run, true);
    result = await provider.chat(makeReq(ctx, undefined), callEnv);
  }
  // Test-only defect switch (KI-06): the answer of a background response is lost between
  // the poller and the reply; only the cancel or the deadline ends the wait.
  if (app.config.testDefects.has('lose-background-result') && background) {
    await new Promise<never>((_, reject) => addAbortListener(signal, () => reject(abortReasonToError(signal.reason))));
  }
  return { result, ctx, background };
}

/** Stage 7: the turn, the files now in the chain, and the memory entry. */
async function record(run: Run, sent: Sent): Promise<void> {
  const { app, model, args, signal } = run;
  const { result, ctx } = sent;
  run.setPhase('reply');
  app.sessions.recordTurn(args.session_id, model.id, args.instructions, result.text, result.responseId);
  if (ctx && run.useChain) await recordSent(app.db, run.key, ctx.inline, signal);
  // Memory is an OpenAI vector store: another provider's call goes there only on opt-in.
  if (app.config.memoryEnabled && app.services.memory && (model.provider === 'openai' || app.config.memoryAllProviders)) {
    app.services.memory.enqueue({
      sessionId: args.session_id, question: args.instructions, answerExcerpt: result.text.slice(0, 4_000),
      files: ctx ? [...ctx.inline, ...ctx.overflow].map((f: { relPath: string }) => f.relPath).slice(0, 200) : [], model: model.id,
    });
  }
}

/** Stage 8: the answer with what was sent, by class. */
function reply(run: Run, sent: Sent, attached: Attached): ChatCallResult {
  const { model, args, notes } = run;
  const { result, ctx } = sent;
  const { vectorStoreId, notAttached, leftOut } = attached;
  return {
    text: result.text,
    model: result.model,
    model_id: model.id,
    session_id: args.session_id,
    ...(result.responseId ? { response_id: result.responseId } : {}),
    ...(result.usage ? { usage: result.usage } : {}),
    notes: [...notes, ...result.notes],
    ...(result.incomplete ? { incomplete: result.incomplete } : {}),
    ...(ctx ? {
      context: {
        files_inline: ctx.inline.length,
        tokens_inline: ctx.stats.inlineTokens,
        files_already_sent: ctx.alreadySent.length,
        files_in_vector_store: vectorStoreId ? ctx.overflow.length - notAttached.length : 0,
        files_left_out: leftOut,
        files_skipped: ctx.skipped.length,
        ...(vectorStoreId ? { vector_store_id: vectorStoreId } : {}),
        ...(notAttached.length ? { not_attached: notAttached } : {}),
        report: ctx.contextReport,
        files: contextFiles({
          inline: ctx.inline, alreadySent: ctx.alreadySent, overflow: ctx.overflow, toVectorStore: Boolean(vectorStoreId),
          notAttached, skipped: ctx.skipped, skippedTotal: ctx.stats.skipped,
        }),
      },
    } : {}),
    elapsed_ms: Date.now() - run.started,
  };
}

/** Span attributes describing the context split, set by the MCP layer on the tool span. */
export function contextAttributes(r: ChatCallResult): Record<string, number> {
  if (!r.context) return {};
  return {
    [ATTR_SB_FILES_INLINE]: r.context.files_inline,
    [ATTR_SB_FILES_OVERFLOW]: r.context.files_in_vector_store + r.context.files_left_out,
    [ATTR_SB_FILES_SKIPPED]: r.context.files_skipped,
    [ATTR_SB_TOKENS_INLINE]: r.context.tokens_inline,
  };
}

