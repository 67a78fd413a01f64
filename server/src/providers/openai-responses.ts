/**
 * OpenAI Responses API adapter: sessions continue with previous_response_id; o3-pro and
 * long calls use background mode (create, store the id, poll with backoff and a deadline).
 * Every request goes through the provider's resilience policy with the call's signal.
 * Polling sleeps are our own (KI-03): SDK polling helpers are not trusted with the signal.
 */
import type OpenAI from 'openai';
import { APIError, NotFoundError } from 'openai';
import type { Response as OpenAIResponse, ResponseCreateParamsNonStreaming } from 'openai/resources/responses/responses';
import { DEFAULTS } from '../config/defaults.ts';
import type { TestDefect } from '../config/test-defects.ts';
import { ErrorCode, SbError, abortReasonToError, isAbortError, isSbError } from '../errors.ts';
import { sleep } from '../resilience/sleep.ts';
import type { ProviderResilience } from '../resilience/policy.ts';
import {
  ATTR_GEN_AI_CONVERSATION_ID, ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_PROVIDER_NAME, ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_ID, ATTR_GEN_AI_RESPONSE_MODEL, ATTR_GEN_AI_USAGE_INPUT_TOKENS, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SERVER_ADDRESS, ATTR_SB_BACKGROUND, ATTR_SB_RESPONSE_STATUS, EVENT_SB_STATUS_CHANGE, EVENT_SB_RETRY,
  ATTR_SB_RETRY_ATTEMPT, ATTR_SB_RETRY_DELAY_MS, ATTR_SB_RETRY_AFTER_MS, GEN_AI_OPERATION, GEN_AI_PROVIDER,
} from '../telemetry/semconv.ts';
import { recordGenAiDuration, recordTokenUsage } from '../telemetry/metrics.ts';
import { SpanKind, markCancelled, recordRateLimitHeaders, withSpan, type Span } from '../telemetry/spans.ts';
import type { ProviderClients } from './clients.ts';
import type { CallEnv, ChatProvider, ChatRequest, ChatResult } from './types.ts';
import { sanitizeUsage } from './usage.ts';

const CANCEL_UPSTREAM_TIMEOUT_MS = DEFAULTS.CANCEL_UPSTREAM_TIMEOUT_MS;

export interface OpenAIResponsesDeps {
  clients: ProviderClients;
  resilience: ProviderResilience;
  /** Test-only defect switches read here (branches, defects/index.ts): 'poll-ignores-signal', 'no-upstream-cancel'. */
  defects?: ReadonlySet<TestDefect>;
  /** Multiplies the polling intervals (chaos runs compress time). Default 1. */
  timeScale?: number;
}

/** Text of a Responses API result, from output message items (output_text is an SDK convenience that is not always set). */
export function responseText(r: OpenAIResponse): string {
  if (typeof r.output_text === 'string' && r.output_text.length > 0) return r.output_text;
  const parts: string[] = [];
  for (const item of r.output ?? []) {
    if (item.type === 'message') for (const c of item.content ?? []) if (c.type === 'output_text') parts.push(c.text);
  }
  return parts.join('');
}

export class OpenAIResponsesProvider implements ChatProvider {
  readonly #deps: OpenAIResponsesDeps;
  constructor(deps: OpenAIResponsesDeps) { this.#deps = deps; }

  buildParams(req: ChatRequest): ResponseCreateParamsNonStreaming {
    const m = req.model;
    const input = req.contextText ? `${req.contextText}\n\n---\n\n${req.instructions}` : req.instructions;
    const params: ResponseCreateParamsNonStreaming = {
      model: m.api_model,
      instructions: req.system,
      input,
      store: true,
      ...(req.previousResponseId ? { previous_response_id: req.previousResponseId } : {}),
      ...(req.background ? { background: true } : {}),
      ...(req.vectorStoreIds?.length ? { tools: [{ type: 'file_search', vector_store_ids: req.vectorStoreIds }] } : {}),
      ...(req.reasoningEffort && m.reasoning_efforts.includes(req.reasoningEffort) ? { reasoning: { effort: req.reasoningEffort } } : {}),
      ...(req.temperature !== undefined && m.supports_temperature ? { temperature: req.temperature } : {}),
      ...(req.structuredOutputSchema ? { text: { format: { type: 'json_schema', name: 'output', schema: req.structuredOutputSchema, strict: false } } } : {}),
    };
    return params;
  }

  async chat(req: ChatRequest, env: CallEnv): Promise<ChatResult> {
    const client = this.#deps.clients.get('openai');
    return withSpan(`${GEN_AI_OPERATION.CHAT} ${req.model.api_model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION.CHAT,
        [ATTR_GEN_AI_PROVIDER_NAME]: GEN_AI_PROVIDER.OPENAI,
        [ATTR_GEN_AI_REQUEST_MODEL]: req.model.api_model,
        [ATTR_GEN_AI_CONVERSATION_ID]: req.sessionId,
        [ATTR_SERVER_ADDRESS]: this.#deps.clients.host('openai'),
        [ATTR_SB_BACKGROUND]: req.background,
      },
    }, async (span) => {
      const t0 = performance.now();
      try {
        const r = await this.#chatInSpan(client, req, env, span);
        recordGenAiDuration('openai', req.model.api_model, (performance.now() - t0) / 1000);
        if (r.usage) recordTokenUsage('openai', req.model.api_model, { input: r.usage.input_tokens, output: r.usage.output_tokens });
        return r;
      } catch (err) {
        recordGenAiDuration('openai', req.model.api_model, (performance.now() - t0) / 1000, err instanceof SbError ? err.code : 'error');
        throw err;
      }
    });
  }

  async #chatInSpan(client: OpenAI, req: ChatRequest, env: CallEnv, span: Span): Promise<ChatResult> {
    {
      env.setPhase('provider');
      let created: OpenAIResponse;
      try {
        created = await this.#create(client, this.buildParams(req), env, span);
      } catch (err) {
        const gone = req.previousResponseId ? previousResponseGone(err) : undefined;
        if (gone) {
          throw new SbError(ErrorCode.PREVIOUS_RESPONSE_NOT_FOUND,
            `The previous response ${req.previousResponseId} is no longer known to openai.`, { provider: 'openai', status: gone.status, cause: err });
        }
        throw err;
      }
      span.setAttribute(ATTR_GEN_AI_RESPONSE_ID, created.id);
      let final = created;
      if (req.background || created.status === 'queued' || created.status === 'in_progress') {
        await env.onBackgroundId?.(created.id);
        final = await this.poll(created, env);
      }
      // A synchronous response can end failed or cancelled too; only polling checked before.
      throwIfEndedBadly(final, 'response');
      return finish(final, span, req.model.api_model);
    }
  }

  async #create(client: OpenAI, params: ResponseCreateParamsNonStreaming, env: CallEnv, span: Span): Promise<OpenAIResponse> {
    return this.#deps.resilience.run(async (signal) => {
      const { data, response } = await client.responses.create(params, { signal }).withResponse();
      recordRateLimitHeaders(span, response.headers);
      this.#deps.resilience.observeHeaders(response.headers);
      return data;
    }, { signal: env.signal, deadline: env.deadline, progress: env.progress, what: 'create a response', onRetry: (i) => retryEvent(span, i) });
  }

  /**
   * Polls a background response until it ends, the deadline passes, or the signal aborts.
   * On abort or deadline the response is cancelled upstream (KI-03). Progress is sent at
   * every poll, so a client with resetTimeoutOnProgress stays alive (KI-06).
   */
  async poll(start: OpenAIResponse | { id: string; status?: string }, env: CallEnv): Promise<OpenAIResponse> {
    return withSpan('openai.poll_background', { attributes: { [ATTR_GEN_AI_RESPONSE_ID]: start.id } }, (span) => this.#poll(start, env, span));
  }

  async #poll(start: OpenAIResponse | { id: string; status?: string }, env: CallEnv, span: Span): Promise<OpenAIResponse> {
    const client = this.#deps.clients.get('openai');
    const ignoreSignal = this.#deps.defects?.has('poll-ignores-signal');
    env.setPhase('poll');
    const startedAt = Date.now();
    let status = start.status ?? 'queued';
    const scale = this.#deps.timeScale ?? 1;
    let interval: number = DEFAULTS.POLL_INITIAL_INTERVAL_MS * scale;
    try {
      for (;;) {
        const remaining = env.deadline - Date.now();
        if (remaining <= 0) {
          throw new SbError(ErrorCode.UPSTREAM_TIMEOUT,
            `Failed to get the background answer from openai before the deadline (still ${status} after ${Math.round((Date.now() - startedAt) / 1000)} s). The response was cancelled upstream. Try start_job for long questions, or a longer timeout.`,
            { provider: 'openai' });
        }
        env.progress(`${status} at openai for ${Math.round((Date.now() - startedAt) / 1000)} s`);
        // Defect switch for proving KI-03 scenarios: a poll sleep that ignores the signal.
        await sleep(Math.min(interval, remaining), ignoreSignal ? undefined : env.signal);
        interval = Math.min(DEFAULTS.POLL_MAX_INTERVAL_MS * scale, Math.round(interval * DEFAULTS.POLL_BACKOFF_FACTOR));
        const r = await this.#deps.resilience.run(async (signal) => {
          const { data, response } = await client.responses.retrieve(start.id, undefined, { signal: ignoreSignal ? undefined : signal }).withResponse();
          this.#deps.resilience.observeHeaders(response.headers);
          return data;
        }, { signal: ignoreSignal ? new AbortController().signal : env.signal, deadline: env.deadline, progress: env.progress, what: 'poll a background response', onRetry: (i) => retryEvent(span, i) });
        if (r.status !== status) {
          span.addEvent(EVENT_SB_STATUS_CHANGE, { from: status, to: r.status ?? 'unknown', elapsed_ms: Date.now() - startedAt });
          status = r.status ?? status;
        }
        if (status === 'completed' || status === 'incomplete') return r;
        throwIfEndedBadly(r, 'background response');
      }
    } catch (err) {
      const aborted = env.signal.aborted || isAbortError(err);
      const timedOut = err instanceof SbError && err.code === ErrorCode.UPSTREAM_TIMEOUT;
      // A shutdown hands the response off to the next process (jobs resume it): no upstream cancel.
      if (isSbError(env.signal.reason, ErrorCode.SHUTTING_DOWN)) throw abortReasonToError(env.signal.reason);
      if (aborted || timedOut) {
        markCancelled(span, aborted ? 'client_cancel' : 'deadline');
        await this.cancelUpstream(start.id);
        if (aborted) throw abortReasonToError(env.signal.reason ?? err);
      }
      throw err;
    }
  }

  /** Best-effort upstream cancel with its own short deadline (the call's signal is already aborted). */
  async cancelUpstream(responseId: string): Promise<boolean> {
    if (this.#deps.defects?.has('no-upstream-cancel')) return false;
    try {
      await this.#deps.clients.get('openai').responses.cancel(responseId, { signal: AbortSignal.timeout(CANCEL_UPSTREAM_TIMEOUT_MS) });
      return true;
    } catch {
      return false;
    }
  }
}

function retryEvent(span: Span, i: { attempt: number; delayMs: number; retryAfterMs?: number; reason: string }): void {
  span.addEvent(EVENT_SB_RETRY, {
    [ATTR_SB_RETRY_ATTEMPT]: i.attempt, [ATTR_SB_RETRY_DELAY_MS]: i.delayMs, reason: i.reason,
    ...(i.retryAfterMs !== undefined ? { [ATTR_SB_RETRY_AFTER_MS]: i.retryAfterMs } : {}),
  });
}

/**
 * KI-15: the chain is gone. The live API answers 400 `previous_response_not_found`;
 * a 404 (older behaviour, proxies) means the same. Matched on the code, never the text.
 */
function previousResponseGone(err: unknown): { status: number } | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof NotFoundError) return { status: 404 };
    if (e instanceof APIError && e.code === 'previous_response_not_found') return { status: e.status ?? 400 };
  }
  return undefined;
}

/** A response that ended `failed` or `cancelled` is an error carrying the upstream message, not an empty answer. */
function throwIfEndedBadly(r: OpenAIResponse, what: string): void {
  if (r.status === 'failed') {
    const detail = r.error ? `${r.error.code ?? 'unknown'}: ${r.error.message ?? 'no message'}` : 'no error details';
    throw new SbError(ErrorCode.UPSTREAM_RESPONSE_FAILED, `Failed to get an answer from openai: the ${what} ${r.id} failed (${detail}). Try again.`,
      { provider: 'openai', details: { response_id: r.id, status: r.status, ...(r.error?.code ? { upstream_code: r.error.code } : {}) } });
  }
  if (r.status === 'cancelled') {
    throw new SbError(ErrorCode.UPSTREAM_RESPONSE_FAILED, `Failed to get an answer from openai: the ${what} ${r.id} was cancelled upstream. Ask again.`,
      { provider: 'openai', details: { response_id: r.id, status: r.status } });
  }
}

function finish(r: OpenAIResponse, span: Span, requested: string): ChatResult {
  const notes: string[] = [];
  const incomplete = r.status === 'incomplete' ? { reason: r.incomplete_details?.reason ?? 'unknown' } : undefined;
  if (incomplete) notes.push(`The answer is incomplete: openai stopped early (${incomplete.reason}); the text below is partial.`);
  const clean = sanitizeUsage(r.usage?.input_tokens, r.usage?.output_tokens, 'openai');
  if (clean.note) notes.push(clean.note);
  span.setAttribute(ATTR_SB_RESPONSE_STATUS, r.status ?? 'unknown');
  span.setAttribute(ATTR_GEN_AI_RESPONSE_MODEL, r.model ?? requested);
  if (clean.usage) {
    span.setAttribute(ATTR_GEN_AI_USAGE_INPUT_TOKENS, clean.usage.input_tokens);
    span.setAttribute(ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, clean.usage.output_tokens);
  }
  return {
    text: responseText(r),
    model: r.model ?? requested,
    responseId: r.id,
    usage: clean.usage,
    notes,
    ...(incomplete ? { incomplete } : {}),
  };
}

export { retryEvent };
