/**
 * One chat call, start to end: validate → context → provider → reply. Providers know
 * nothing of MCP; this module knows nothing of transports. Every await takes the call's
 * signal, which combines the client's cancel with the call's deadline (KI-03, KI-05).
 */
import type { App } from '../app.ts';
import type { ModelEntry } from '../config/models.ts';
import { ErrorCode, SbError, abortReasonToError, isSbError } from '../errors.ts';
import type { ChatArgs } from './args.ts';
import type { InflightCall } from '../runtime/inflight.ts';
import type { ChatRequest, ChatResult, ChatUsage } from '../providers/types.ts';
import { prepareContext, recordSent, forgetSent, fileContent } from '../context/index.ts';
import {
  ATTR_SB_FILES_INLINE, ATTR_SB_FILES_OVERFLOW, ATTR_SB_FILES_SKIPPED, ATTR_SB_TOKENS_INLINE, ATTR_SB_BUDGET_TOKENS,
  ATTR_SB_UPLOAD_FILES, ATTR_SB_UPLOAD_FAILED,
} from '../telemetry/semconv.ts';
import { withSpan } from '../telemetry/spans.ts';
import { countUpload } from '../telemetry/metrics.ts';
import { assertInstructionsFit, tokenizerFamilyOf } from './input-limits.ts';
import { deadline as startDeadline } from '../runtime/deadline.ts';

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
    files_already_sent: number;
    files_in_vector_store: number;
    files_left_out: number;
    files_skipped: number;
    vector_store_id?: string;
    not_attached?: Array<{ path: string; reason: string }>;
    report: string;
  };
  elapsed_ms: number;
}

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

export async function runChatCall(app: App, model: ModelEntry, args: ChatArgs, env: ChatCallEnv): Promise<ChatCallResult> {
  const started = Date.now();
  const timeoutMs = model.timeout_s * 1000;
  // Cleared when the call ends (runtime/deadline.ts): AbortSignal.timeout would pin the
  // call's signals until the deadline, long after the reply.
  const callDeadline = startDeadline(timeoutMs, env.signal, app.lifetime.signal);
  try {
    return await runWithin(app, model, args, env, started, timeoutMs, callDeadline.signal);
  } finally {
    callDeadline.dispose();
  }
}

async function runWithin(app: App, model: ModelEntry, args: ChatArgs, env: ChatCallEnv, started: number, timeoutMs: number, signal: AbortSignal): Promise<ChatCallResult> {
  const deadline = started + timeoutMs;
  const setPhase = (p: Parameters<typeof app.inflight.setPhase>[1]) => app.inflight.setPhase(env.call, p);
  const key = sessionKey(args.session_id, model);
  // Test-only defect switches (KI-03): the context and upload stages get a signal that only
  // the deadline aborts, as when the cancel was not passed down to them.
  const defects = app.config.testDefects;
  const deadlineOnly = () => AbortSignal.any([AbortSignal.timeout(timeoutMs), app.lifetime.signal]);
  const gatherSignal = defects.has('gather-ignores-signal') ? deadlineOnly() : signal;
  const uploadSignal = defects.has('upload-ignores-signal') ? deadlineOnly() : signal;

  // Fail fast on a missing key, before any file is read.
  app.clients.get(model.provider);
  // And on instructions that alone overflow the model's window, before any read or upload.
  await assertInstructionsFit(model, args.instructions, signal);

  setPhase('session_wait');
  let release: () => void;
  try {
    // Test-only defect switches (KI-15): no serialisation at all, or a slot never given back.
    if (defects.has('no-session-lock')) release = () => {};
    else {
      // KI-20: time spent behind an earlier call of the same session shows in the trace.
      const held = await withSpan('session.wait', {}, () => app.locks.acquire(key, signal));
      release = defects.has('session-lock-leak') ? () => {} : held;
    }
  } catch (err) {
    throw abortReasonToError(signal.reason ?? err);
  }
  try {
    const useChain = model.api === 'responses';
    let session = app.sessions.get(args.session_id, model.id);
    const notes: string[] = [];

    const build = async (fresh: boolean) => {
      const paths = args.context ?? [];
      const priority = args.priority_context ?? [];
      if (paths.length === 0 && priority.length === 0) return undefined;
      setPhase('gather');
      // Chat Completions history holds only questions and answers, so those providers get
      // the full context every time; Responses chains remember what was sent inline.
      return withSpan('context.prepare', {}, async (span) => {
        const c = await prepareContext({
        db: app.db,
        sessionId: useChain && !fresh ? key : undefined,
        model: { contextWindow: model.context_window, tokenizerFamily: tokenizerFamilyOf(model) },
        paths, priorityPaths: priority, roots: env.roots,
        instructions: args.instructions,
        overflow: model.vector_stores && app.services.vectorStores ? 'vector-store' : 'omitted',
        signal: gatherSignal,
        onProgress: (done: number, total: number, message: string) => env.progress(message || `read ${done}/${total} files`),
        });
        span.setAttributes({
          [ATTR_SB_FILES_INLINE]: c.inline.length, [ATTR_SB_FILES_OVERFLOW]: c.overflow.length,
          [ATTR_SB_FILES_SKIPPED]: c.skipped.length, [ATTR_SB_TOKENS_INLINE]: c.stats.inlineTokens,
          [ATTR_SB_BUDGET_TOKENS]: c.stats.budgetTokens,
        });
        return c;
      });
    };

    let ctx = await build(false);
    let vectorStoreId: string | undefined;
    let notAttached: Array<{ path: string; reason: string }> = [];
    let leftOut = 0;
    if (ctx && ctx.overflow.length > 0) {
      if (model.vector_stores && app.services.vectorStores) {
        setPhase('upload');
        const up = await withSpan('context.upload', { attributes: { [ATTR_SB_UPLOAD_FILES]: ctx.overflow.length } }, async (span) => {
          const manager = app.services.vectorStores!;
          const onProgress = (_d: number, _t: number, message: string) => env.progress(message);
          // Test-only defect switch: one upload per overflow file, as before bundles.
          const r = defects.has('per-file-uploads')
            ? await manager.attachFiles({ sessionId: key, files: ctx!.overflow, signal: uploadSignal, onProgress })
            : await manager.attachOverflow({
              sessionId: key, signal: uploadSignal, onProgress,
              scope: new Map([...ctx!.inline, ...ctx!.alreadySent, ...ctx!.overflow].filter((f) => f.sha256).map((f) => [f.relPath, f.sha256!])),
              // The bytes the gatherer holds go into the bundles as they are: no decode, no second read.
              files: ctx!.overflow.map((f) => {
                const content = fileContent(f);
                return { absPath: f.absPath, relPath: f.relPath, size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256,
                  ...(typeof content === 'string' ? { text: content } : { bytes: content }) };
              }),
            });
          span.setAttribute(ATTR_SB_UPLOAD_FAILED, r.failed.length);
          if (r.uploaded) countUpload(r.uploaded);
          return r;
        });
        vectorStoreId = up.vectorStoreId;
        notAttached = up.failed.map((f) => ({ path: f.relPath, reason: f.reason }));
        if (notAttached.length) notes.push(`${notAttached.length} file(s) could not be attached to the vector store: ${notAttached.slice(0, 10).map((f) => `${f.path} (${f.reason})`).join(', ')}${notAttached.length > 10 ? ', …' : ''}.`);
      } else {
        leftOut = ctx.overflow.length;
        notes.push(`${leftOut} file(s) did not fit ${model.id}'s budget and were left out (this provider has no vector store): ${ctx.overflow.slice(0, 10).map((f: { relPath: string }) => f.relPath).join(', ')}${leftOut > 10 ? ', …' : ''}. Narrow the context or use priority_context for the files that matter.`);
      }
    }

    const memoryStore = !args.disable_memory_search && model.vector_stores ? app.services.memory?.storeId?.() : undefined;
    const storeIds = [vectorStoreId, memoryStore].filter((x): x is string => Boolean(x));
    const provider = app.providers[model.provider];
    const background = model.background || timeoutMs >= app.config.backgroundThresholdMs;
    const makeReq = (c: typeof ctx, previous: string | undefined): ChatRequest => ({
      model,
      instructions: args.instructions,
      contextText: c?.promptText ?? '',
      system: systemPrompt(args, Boolean(vectorStoreId), Boolean(memoryStore)),
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
      signal, deadline, progress: env.progress, setPhase,
      onBackgroundId: env.onBackgroundId,
    };

    let result: ChatResult;
    try {
      result = await provider.chat(makeReq(ctx, useChain ? session?.last_response_id : undefined), callEnv);
    } catch (err) {
      if (!isSbError(err, ErrorCode.PREVIOUS_RESPONSE_NOT_FOUND)) throw err;
      // KI-15: the provider forgot the chain. Start fresh with the full context and say so.
      app.sessions.resetChain(args.session_id, model.id);
      await forgetSent(app.db, key, signal);
      session = undefined;
      notes.push('The previous response of this session had expired at the provider, so this answer starts a fresh thread with the full context.');
      ctx = await build(true);
      result = await provider.chat(makeReq(ctx, undefined), callEnv);
    }

    // Test-only defect switch (KI-06): the answer of a background response is lost between
    // the poller and the reply; only the cancel or the deadline ends the wait.
    if (defects.has('lose-background-result') && background) {
      await new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(abortReasonToError(signal.reason)), { once: true }));
    }
    setPhase('reply');
    app.sessions.recordTurn(args.session_id, model.id, args.instructions, result.text, result.responseId);
    if (ctx && useChain) await recordSent(app.db, key, ctx.inline, signal);
    // Memory is an OpenAI vector store: another provider's call goes there only on opt-in.
    if (app.config.memoryEnabled && app.services.memory && (model.provider === 'openai' || app.config.memoryAllProviders)) {
      app.services.memory.enqueue({
        sessionId: args.session_id, question: args.instructions, answerExcerpt: result.text.slice(0, 4_000),
        files: ctx ? [...ctx.inline, ...ctx.overflow].map((f: { relPath: string }) => f.relPath).slice(0, 200) : [], model: model.id,
      });
    }
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
          files_already_sent: ctx.alreadySent.length,
          files_in_vector_store: vectorStoreId ? ctx.overflow.length - notAttached.length : 0,
          files_left_out: leftOut,
          files_skipped: ctx.skipped.length,
          ...(vectorStoreId ? { vector_store_id: vectorStoreId } : {}),
          ...(notAttached.length ? { not_attached: notAttached } : {}),
          report: ctx.contextReport,
        },
      } : {}),
      elapsed_ms: Date.now() - started,
    };
  } catch (err) {
    if (signal.aborted && !isSbError(err)) throw abortReasonToError(signal.reason);
    if (signal.aborted && isSbError(err) && err.code === ErrorCode.INTERNAL) throw abortReasonToError(signal.reason);
    throw err;
  } finally {
    release();
  }
}

/** Span attributes describing the context split, set by the MCP layer on the tool span. */
export function contextAttributes(r: ChatCallResult): Record<string, number> {
  if (!r.context) return {};
  return {
    [ATTR_SB_FILES_INLINE]: r.context.files_inline,
    [ATTR_SB_FILES_OVERFLOW]: r.context.files_in_vector_store + r.context.files_left_out,
    [ATTR_SB_FILES_SKIPPED]: r.context.files_skipped,
    [ATTR_SB_TOKENS_INLINE]: 0,
  };
}

export { SbError };
