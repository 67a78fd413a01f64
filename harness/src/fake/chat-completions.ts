import { buildAnswer, estimateTokens, splitDeltas, textOf } from './answer.ts';
import { sseFrame } from './body.ts';
import { invalidParameter, missingParameter, requireJson } from './context.ts';
import type { RouteContext, RouteDefinition, RouteResult } from './context.ts';
import { FAKE_DEFAULTS } from './defaults.ts';
import { jsonResponse } from './errors.ts';
import type { ProviderName, RouteId } from './routes.ts';

/**
 * Chat Completions, as xAI and Gemini's OpenAI-compatible endpoint serve it (and
 * OpenAI itself): JSON, or SSE `data: {…}` chunks ending with `data: [DONE]`.
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
  const messages = body.messages as Array<Record<string, unknown>>;
  const system = messages.filter((m) => m?.role === 'system' || m?.role === 'developer').map((m) => textOf(m.content)).join('\n');
  const input = messages.filter((m) => m?.role !== 'system' && m?.role !== 'developer').map((m) => textOf(m.content)).join('\n');
  const answer = buildAnswer({ provider: ctx.provider, model: body.model, previousResponseId: null, instructions: system, input });
  const id = state.ids.next('chatcmpl-');
  const created = state.nowSeconds();
  const promptTokens = estimateTokens(system + input);
  const completionTokens = estimateTokens(answer);
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  const fingerprint = `fp_${ctx.provider}`;

  if (body.stream === true) {
    const base = { id, object: 'chat.completion.chunk', created, model: body.model, system_fingerprint: fingerprint };
    const frames = [sseFrame({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] })];
    for (const delta of splitDeltas(answer, FAKE_DEFAULTS.STREAM_WORDS_PER_DELTA)) {
      frames.push(sseFrame({ ...base, choices: [{ index: 0, delta: { content: delta }, logprobs: null, finish_reason: null }] }));
    }
    frames.push(sseFrame({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] }));
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
    choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage,
  });
}
