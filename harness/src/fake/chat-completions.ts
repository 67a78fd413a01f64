import { buildAnswer, estimateTokens, splitDeltas, textOf } from './answer.ts';
import { sseFrame } from './body.ts';
import { ProviderHttpError, invalidParameter, missingParameter, requireJson } from './context.ts';
import type { RouteContext, RouteDefinition, RouteResult } from './context.ts';
import { FAKE_DEFAULTS } from './defaults.ts';
import { rejectedParameter } from './dialects.ts';
import { jsonResponse } from './errors.ts';
import { findFault } from './faults.ts';
import type { ProviderName, RouteId } from './routes.ts';

/**
 * Chat Completions, as xAI and Gemini's OpenAI-compatible endpoint serve it (and
 * OpenAI itself): JSON, or SSE `data: {…}` chunks ending with `data: [DONE]`. The
 * parameters each provider refuses, and its error shapes, are in `dialects.ts`.
 */

const CHAT_ROUTES: ReadonlyArray<[RouteId, ProviderName]> = [
  ['chat.openai', 'openai'],
  ['chat.xai', 'xai'],
  ['chat.gemini', 'gemini'],
];

export const chatCompletionRoutes: RouteDefinition[] = CHAT_ROUTES.map(([route, provider]) => ({
  route,
  provider,
  method: 'post' as const,
  path: '/chat/completions',
  handle: createChatCompletion,
}));

function createChatCompletion(ctx: RouteContext): RouteResult {
  const body = requireJson(ctx);
  const { state } = ctx.runtime;
  if (typeof body.model !== 'string' || !body.model) throw missingParameter('model');
  if (!Array.isArray(body.messages)) throw missingParameter('messages');
  if (body.messages.length === 0) throw invalidParameter('messages', "Invalid 'messages': empty array. Expected an array with minimum length 1.");
  const rejected = rejectedParameter(ctx.provider, body.model, body);
  if (rejected) throw new ProviderHttpError(rejected);
  const messages = body.messages as Array<Record<string, unknown>>;
  const system = messages.filter((m) => m?.role === 'system' || m?.role === 'developer').map((m) => textOf(m.content)).join('\n');
  const input = messages.filter((m) => m?.role !== 'system' && m?.role !== 'developer').map((m) => textOf(m.content)).join('\n');
  const full = buildAnswer({ provider: ctx.provider, model: body.model, previousResponseId: null, instructions: system, input });
  const finish = findFault(ctx.faults, 'finish');
  const words = full.split(' ');
  const answer = finish ? words.slice(0, Math.max(1, Math.floor(words.length / 2))).join(' ') : full;
  const finishReason = finish?.reason ?? 'stop';
  const content = finish?.emptyContent ? null : answer;
  const usageFault = findFault(ctx.faults, 'usage');
  const id = state.ids.next('chatcmpl-');
  const created = state.nowSeconds();
  const promptTokens = usageFault?.inputTokens ?? estimateTokens(system + input);
  const completionTokens = usageFault?.outputTokens ?? estimateTokens(content ?? '');
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  const fingerprint = `fp_${ctx.provider}`;

  if (body.stream === true) {
    const base = { id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: fingerprint };
    const frames = [sseFrame({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] })];
    for (const delta of content === null ? [] : splitDeltas(content, FAKE_DEFAULTS.STREAM_WORDS_PER_DELTA)) {
      frames.push(sseFrame({ ...base, choices: [{ index: 0, delta: { content: delta }, logprobs: null, finish_reason: null }] }));
    }
    frames.push(sseFrame({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }] }));
    const options = body.stream_options as Record<string, unknown> | undefined;
    if (options?.include_usage === true) frames.push(sseFrame({ ...base, choices: [], usage }));
    frames.push(sseFrame('[DONE]'));
    return { sse: frames };
  }
  return jsonResponse({
    id,
    object: 'chat.completion',
    created,
    model: body.model,
    system_fingerprint: fingerprint,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finishReason }],
    usage,
  });
}
