/**
 * Chat Completions adapter for xAI (Grok) and Gemini's OpenAI-compatible endpoint. The
 * session's prior turns are sent as message history. Same signal, deadline and retry
 * owner as the OpenAI path (KI-05: no provider may ignore cancellation).
 */
import type OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ProviderId } from '../config/models.ts';
import { ErrorCode, SbError } from '../errors.ts';
import type { ProviderResilience } from '../resilience/policy.ts';
import {
  ATTR_GEN_AI_CONVERSATION_ID, ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_PROVIDER_NAME, ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_RESPONSE_ID, ATTR_GEN_AI_RESPONSE_MODEL, ATTR_GEN_AI_USAGE_INPUT_TOKENS, ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_SERVER_ADDRESS, GEN_AI_OPERATION, GEN_AI_PROVIDER,
} from '../telemetry/semconv.ts';
import { recordGenAiDuration, recordTokenUsage } from '../telemetry/metrics.ts';
import { SpanKind, recordRateLimitHeaders, withSpan } from '../telemetry/spans.ts';
import type { ProviderClients } from './clients.ts';
import { retryEvent } from './openai-responses.ts';
import { sanitizeUsage } from './usage.ts';
import type { CallEnv, ChatProvider, ChatRequest, ChatResult } from './types.ts';

const SEMCONV_PROVIDER: Record<string, string> = { xai: GEN_AI_PROVIDER.XAI, gemini: GEN_AI_PROVIDER.GEMINI, openai: GEN_AI_PROVIDER.OPENAI };

export interface ChatCompletionsDeps {
  provider: ProviderId;
  clients: ProviderClients;
  resilience: ProviderResilience;
  /**
   * Sends one request (default `sendCompletion`). The seam where the `xai-ignores-signal`
   * and `gemini-ignores-signal` test defects (KI-05) put a sender that drops the signal
   * (defects/providers.ts).
   */
  send?: SendCompletion;
}

/** Sends one Chat Completions request with the SDK client and the request options given. */
export type SendCompletion = (client: OpenAI, params: ChatCompletionCreateParamsNonStreaming, options: { signal?: AbortSignal })
  => Promise<{ data: ChatCompletion; response: Response }>;

export const sendCompletion: SendCompletion = (client, params, options) => client.chat.completions.create(params, options).withResponse();

/**
 * Whether the provider documents `reasoning_effort` as refused (a 400) for this model,
 * whatever a catalogue override claims: xAI's grok-3, grok-4 and grok-4-fast-reasoning
 * refuse it, grok-3-mini and grok-4.3 take it (https://docs.x.ai/docs/guides/reasoning,
 * https://docs.x.ai/developers/model-capabilities/text/reasoning). Gemini takes `low`,
 * `medium` and `high`, all the efforts a request can name
 * (https://ai.google.dev/gemini-api/docs/openai#thinking).
 */
function refusesReasoningEffort(provider: ProviderId, apiModel: string): boolean {
  return provider === 'xai' && !/^grok-3-mini/.test(apiModel) && !/^grok-4\.3/.test(apiModel);
}

/** Why the answer stopped early, worded for the user; undefined for a complete answer. */
const EARLY_STOPS: Record<string, string> = {
  length: 'it reached the output limit',
  content_filter: "the provider's content filter stopped it",
};

export class ChatCompletionsProvider implements ChatProvider {
  readonly #deps: ChatCompletionsDeps;
  constructor(deps: ChatCompletionsDeps) { this.#deps = deps; }

  /** The request body; a parameter asked for but not sent (the model does not take it) gets a line in `notes`. */
  buildParams(req: ChatRequest, notes: string[] = []): ChatCompletionCreateParamsNonStreaming {
    const m = req.model;
    const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: req.system }];
    for (const h of req.history ?? []) messages.push({ role: h.role, content: h.content });
    messages.push({ role: 'user', content: req.contextText ? `${req.contextText}\n\n---\n\n${req.instructions}` : req.instructions });
    const effort = req.reasoningEffort && m.reasoning_efforts.includes(req.reasoningEffort) && !refusesReasoningEffort(m.provider, m.api_model)
      ? req.reasoningEffort : undefined;
    if (req.reasoningEffort && !effort) notes.push(`reasoning_effort "${req.reasoningEffort}" is not supported by ${m.api_model} (${m.provider}); it was not sent.`);
    return {
      model: m.api_model,
      messages,
      ...(req.temperature !== undefined && m.supports_temperature ? { temperature: req.temperature } : {}),
      ...(effort ? { reasoning_effort: effort } : {}),
      ...(req.structuredOutputSchema ? { response_format: { type: 'json_schema', json_schema: { name: 'output', schema: req.structuredOutputSchema, strict: false } } } : {}),
    };
  }

  async chat(req: ChatRequest, env: CallEnv): Promise<ChatResult> {
    const { provider, clients, resilience } = this.#deps;
    const client = clients.get(provider);
    const send = this.#deps.send ?? sendCompletion;
    return withSpan(`${GEN_AI_OPERATION.CHAT} ${req.model.api_model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION.CHAT,
        [ATTR_GEN_AI_PROVIDER_NAME]: SEMCONV_PROVIDER[provider] ?? provider,
        [ATTR_GEN_AI_REQUEST_MODEL]: req.model.api_model,
        [ATTR_GEN_AI_CONVERSATION_ID]: req.sessionId,
        [ATTR_SERVER_ADDRESS]: clients.host(provider),
      },
    }, async (span) => {
      env.setPhase('provider');
      const notes: string[] = [];
      const params = this.buildParams(req, notes);
      const t0 = performance.now();
      const data = await resilience.run(async (signal) => {
        const { data, response } = await send(client, params, { signal });
        recordRateLimitHeaders(span, response.headers);
        resilience.observeHeaders(response.headers);
        return data;
      }, { signal: env.signal, deadline: env.deadline, progress: env.progress, what: `ask ${req.model.id}`, onRetry: (i) => retryEvent(span, i) })
        .catch((err) => { recordGenAiDuration(provider, req.model.api_model, (performance.now() - t0) / 1000, err instanceof SbError ? err.code : 'error'); throw err; });
      recordGenAiDuration(provider, req.model.api_model, (performance.now() - t0) / 1000);
      const clean = sanitizeUsage(data.usage?.prompt_tokens, data.usage?.completion_tokens, provider);
      if (clean.usage) recordTokenUsage(provider, req.model.api_model, { input: clean.usage.input_tokens, output: clean.usage.output_tokens });
      const choice = data.choices?.[0];
      const finish = choice?.finish_reason ?? undefined;
      const stoppedEarly = finish !== undefined && finish in EARLY_STOPS;
      // A filtered answer may carry no content at all; it is still an (empty) incomplete answer.
      const text = choice?.message?.content ?? (stoppedEarly ? '' : undefined);
      if (typeof text !== 'string') {
        throw new SbError(ErrorCode.UPSTREAM_BAD_RESPONSE, `Failed to read the answer from ${provider}: the response had no message content. Try again.`, { provider });
      }
      if (data.id) span.setAttribute(ATTR_GEN_AI_RESPONSE_ID, data.id);
      span.setAttribute(ATTR_GEN_AI_RESPONSE_MODEL, data.model ?? req.model.api_model);
      if (clean.usage) {
        span.setAttribute(ATTR_GEN_AI_USAGE_INPUT_TOKENS, clean.usage.input_tokens);
        span.setAttribute(ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, clean.usage.output_tokens);
      }
      // As the Responses path does for `status: incomplete`: partial text, flagged, with the reason.
      if (stoppedEarly) notes.push(`The answer is incomplete: ${provider} stopped early (${finish}: ${EARLY_STOPS[finish]}); the text below is partial.`);
      if (clean.note) notes.push(clean.note);
      return {
        text,
        model: data.model ?? req.model.api_model,
        responseId: data.id,
        usage: clean.usage,
        notes,
        ...(stoppedEarly ? { incomplete: { reason: finish } } : {}),
      };
    });
  }
}
