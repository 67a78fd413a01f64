import { buildAnswer, estimateTokens, splitDeltas, textOf } from './answer.ts';
import { sseFrame } from './body.ts';
import { invalidParameter, missingParameter, param, ProviderHttpError, requireJson } from './context.ts';
import type { RouteContext, RouteDefinition, RouteResult } from './context.ts';
import { FAKE_DEFAULTS } from './defaults.ts';
import { jsonResponse, notFound, previousResponseNotFound, unsupportedParameter } from './errors.ts';
import { findFault } from './faults.ts';
import { searchFiles } from './search.ts';
import type { BackgroundSchedule, FakeState, FileRecord, ResponseRecord, ResponseStatus } from './state.ts';

/**
 * OpenAI Responses API: create (sync, background, streamed), retrieve, cancel, delete,
 * `previous_response_id` chains and the `file_search` tool. Background responses
 * advance on their schedule as time passes; every read computes the current status.
 */

export const responsesRoutes: RouteDefinition[] = [
  { route: 'responses.create', provider: 'openai', method: 'post', path: '/responses', handle: createResponse },
  { route: 'responses.retrieve', provider: 'openai', method: 'get', path: '/responses/:responseId', handle: retrieveResponse },
  { route: 'responses.cancel', provider: 'openai', method: 'post', path: '/responses/:responseId/cancel', handle: cancelResponse },
  { route: 'responses.delete', provider: 'openai', method: 'delete', path: '/responses/:responseId', handle: deleteResponse },
];

const TERMINAL: ReadonlySet<ResponseStatus> = new Set(['completed', 'failed', 'incomplete', 'cancelled']);

function createResponse(ctx: RouteContext): RouteResult {
  const body = requireJson(ctx);
  const { state, settings } = ctx.runtime;
  if (typeof body.model !== 'string' || !body.model) throw missingParameter('model');
  const stream = body.stream === true;
  const background = body.background === true;
  const store = body.store !== false;
  if (background && !store) throw invalidParameter('background', "Background mode requires 'store' to be true.");

  const previousResponseId = typeof body.previous_response_id === 'string' ? body.previous_response_id : null;
  if (previousResponseId && (findFault(ctx.faults, 'previous-not-found') || !state.responses.has(previousResponseId))) {
    throw new ProviderHttpError(previousResponseNotFound(previousResponseId, settings.previousResponseNotFoundStatus));
  }
  const unsupported = unsupportedParameterOf(body.model, body);
  if (unsupported) throw new ProviderHttpError(unsupportedParameter(unsupported, body.model));

  const tools = Array.isArray(body.tools) ? (body.tools as Array<Record<string, unknown>>) : [];
  const vectorStoreIds = tools
    .filter((t) => t?.type === 'file_search' && Array.isArray(t.vector_store_ids))
    .flatMap((t) => (t.vector_store_ids as unknown[]).map(String));
  const attached: FileRecord[] = [];
  for (const id of vectorStoreIds) {
    const vs = state.vectorStores.get(id);
    if (!vs) throw new ProviderHttpError(notFound(`Vector store with id '${id}' not found.`, 'tools', null));
    vs.lastActiveAt = state.nowSeconds();
    for (const sf of state.filesOf(id).values()) {
      const file = state.files.get(sf.fileId);
      if (file && state.vectorStoreFileStatus(sf) === 'completed') attached.push(file);
    }
  }

  const instructions = typeof body.instructions === 'string' ? body.instructions : null;
  const inputText = textOf(body.input);
  const hits = vectorStoreIds.length ? searchFiles(attached, inputText, FAKE_DEFAULTS.SEARCH_RESULTS_DEFAULT).map((h) => h.file.filename) : [];
  const answer = buildAnswer({
    provider: 'openai',
    model: body.model,
    previousResponseId,
    instructions: instructions ?? '',
    input: inputText,
    attachedText: attached.map((f) => f.content).join('\n'),
    fileSearchHits: hits,
  });

  const scheduleFault = findFault(ctx.faults, 'background');
  const final = scheduleFault?.final ?? settings.background.final;
  const schedule: BackgroundSchedule =
    background && !stream
      ? {
          queuedMs: scheduleFault?.queuedMs ?? settings.background.queuedMs,
          inProgressMs: scheduleFault?.inProgressMs ?? settings.background.inProgressMs,
          final,
        }
      : { queuedMs: 0, inProgressMs: 0, final: stream && final === 'cancelled' ? 'failed' : final };

  const record: ResponseRecord = {
    id: state.ids.next('resp_'),
    model: body.model,
    createdAt: state.nowSeconds(),
    createdAtMs: ctx.runtime.clock.nowMs(),
    background,
    stream,
    previousResponseId,
    instructions,
    request: body,
    answer,
    vectorStoreIds,
    functionCall: functionCallFor(state, body, tools, inputText),
    schedule,
    cancelledAtMs: null,
    inputTokens: findFault(ctx.faults, 'usage')?.inputTokens ?? estimateTokens((instructions ?? '') + inputText),
    outputTokens: findFault(ctx.faults, 'usage')?.outputTokens ?? estimateTokens(answer),
    metadata: isStringRecord(body.metadata) ? body.metadata : null,
    messageId: state.ids.next('msg_'),
    fileSearchCallId: vectorStoreIds.length ? state.ids.next('fs_') : null,
    fileSearchQueries: vectorStoreIds.length ? [inputText.slice(0, 200)] : [],
  };
  if (store) state.responses.set(record.id, record);
  ctx.entry.responseId = record.id;
  if (stream) return { sse: streamFrames(state, record) };
  return jsonResponse(serializeResponse(state, record));
}

function retrieveResponse(ctx: RouteContext): RouteResult {
  const record = lookup(ctx);
  return jsonResponse(serializeResponse(ctx.runtime.state, record));
}

function cancelResponse(ctx: RouteContext): RouteResult {
  const record = lookup(ctx);
  const { state, clock } = ctx.runtime;
  if (!record.background) {
    throw new ProviderHttpError({ status: 400, message: 'Cannot cancel a synchronous response.', type: 'invalid_request_error', param: null, code: null });
  }
  if (!TERMINAL.has(state.responseStatus(record))) record.cancelledAtMs = clock.nowMs();
  return jsonResponse(serializeResponse(state, record));
}

function deleteResponse(ctx: RouteContext): RouteResult {
  const record = lookup(ctx);
  ctx.runtime.state.responses.delete(record.id);
  return jsonResponse({ id: record.id, object: 'response', deleted: true });
}

function lookup(ctx: RouteContext): ResponseRecord {
  const id = param(ctx, 'responseId');
  const record = ctx.runtime.state.responses.get(id);
  if (!record) throw new ProviderHttpError(notFound(`Response with id '${id}' not found.`, null, null));
  return record;
}

function functionCallFor(state: FakeState, body: Record<string, unknown>, tools: Array<Record<string, unknown>>, inputText: string): ResponseRecord['functionCall'] {
  const functions = tools.filter((t) => t?.type === 'function' && typeof t.name === 'string');
  if (functions.length === 0) return null;
  const hasOutput = Array.isArray(body.input) && body.input.some((i) => (i as Record<string, unknown>)?.type === 'function_call_output');
  if (hasOutput) return null;
  const choice = body.tool_choice as Record<string, unknown> | string | undefined;
  const forced = typeof choice === 'object' && choice?.type === 'function' ? functions.find((f) => f.name === choice.name) : undefined;
  if (choice !== 'required' && !forced) return null;
  const tool = forced ?? functions[0]!;
  return {
    callId: state.ids.next('call_'),
    itemId: state.ids.next('fc_'),
    name: String(tool.name),
    arguments: JSON.stringify({ input_excerpt: inputText.slice(0, 80) }),
  };
}

interface View {
  status?: ResponseStatus;
  /** Output as it is before any item was produced (stream start). */
  empty?: boolean;
}

/** The wire shape of a response object at its current (or given) status. */
export function serializeResponse(state: FakeState, record: ResponseRecord, view: View = {}): Record<string, unknown> {
  const status = view.status ?? state.responseStatus(record);
  const hasOutput = !view.empty && (status === 'completed' || status === 'incomplete');
  const req = record.request;
  return {
    id: record.id,
    object: 'response',
    created_at: record.createdAt,
    status,
    background: record.background,
    completed_at: status === 'completed' && !view.empty ? record.createdAt : null,
    error: status === 'failed' ? { code: 'server_error', message: 'The model failed to generate a response.' } : null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: record.instructions,
    max_output_tokens: typeof req.max_output_tokens === 'number' ? req.max_output_tokens : null,
    metadata: record.metadata ?? {},
    model: record.model,
    output: hasOutput ? outputItems(record, status) : [],
    parallel_tool_calls: req.parallel_tool_calls !== false,
    previous_response_id: record.previousResponseId,
    // What was asked is what comes back (the live API echoes it; a fixed echo would hide a regression in what the server sends).
    reasoning: { effort: reasoningOf(req).effort ?? null, summary: reasoningOf(req).summary ?? null },
    service_tier: 'default',
    store: req.store !== false,
    temperature: typeof req.temperature === 'number' ? req.temperature : 1,
    text: isRecord(req.text) && isRecord(req.text.format) ? { ...req.text, format: req.text.format } : { format: { type: 'text' } },
    tool_choice: req.tool_choice ?? 'auto',
    tools: Array.isArray(req.tools) ? req.tools : [],
    top_p: typeof req.top_p === 'number' ? req.top_p : 1,
    truncation: 'disabled',
    usage: hasOutput
      ? {
          input_tokens: record.inputTokens,
          input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
          output_tokens: outputTokens(record, status),
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: record.inputTokens + outputTokens(record, status),
        }
      : null,
    user: null,
  };
}

function answerText(record: ResponseRecord, status: ResponseStatus): string {
  return status === 'incomplete' ? record.answer.slice(0, Math.ceil(record.answer.length / 2)) : record.answer;
}

function outputTokens(record: ResponseRecord, status: ResponseStatus): number {
  return status === 'incomplete' ? Math.ceil(record.outputTokens / 2) : record.outputTokens;
}

function fileSearchItem(record: ResponseRecord, itemStatus: string): Record<string, unknown> {
  return { id: record.fileSearchCallId, type: 'file_search_call', status: itemStatus, queries: record.fileSearchQueries, results: null };
}

function functionCallItem(record: ResponseRecord, itemStatus: string, args: string): Record<string, unknown> {
  const call = record.functionCall!;
  return { id: call.itemId, type: 'function_call', status: itemStatus, call_id: call.callId, name: call.name, arguments: args };
}

function messageItem(record: ResponseRecord, itemStatus: string, text: string | null): Record<string, unknown> {
  return {
    id: record.messageId,
    type: 'message',
    role: 'assistant',
    status: itemStatus,
    content: text === null ? [] : [{ type: 'output_text', text, annotations: [], logprobs: [] }],
  };
}

function outputItems(record: ResponseRecord, status: ResponseStatus): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  if (record.fileSearchCallId) items.push(fileSearchItem(record, 'completed'));
  if (record.functionCall) items.push(functionCallItem(record, 'completed', record.functionCall.arguments));
  else items.push(messageItem(record, status === 'incomplete' ? 'incomplete' : 'completed', answerText(record, status)));
  return items;
}

/** The SSE events of a streamed response, with the real event names and sequence numbers. */
function streamFrames(state: FakeState, record: ResponseRecord): string[] {
  const frames: string[] = [];
  let seq = 0;
  const emit = (type: string, fields: Record<string, unknown>) => frames.push(sseFrame({ type, sequence_number: seq++, ...fields }, type));
  const final = record.schedule.final;
  emit('response.created', { response: serializeResponse(state, record, { status: 'in_progress', empty: true }) });
  emit('response.in_progress', { response: serializeResponse(state, record, { status: 'in_progress', empty: true }) });
  if (final === 'failed' || final === 'cancelled') {
    emit('response.failed', { response: serializeResponse(state, record, { status: 'failed' }) });
    return frames;
  }
  let index = 0;
  if (record.fileSearchCallId) {
    const item_id = record.fileSearchCallId;
    emit('response.output_item.added', { output_index: index, item: fileSearchItem(record, 'in_progress') });
    emit('response.file_search_call.in_progress', { output_index: index, item_id });
    emit('response.file_search_call.searching', { output_index: index, item_id });
    emit('response.file_search_call.completed', { output_index: index, item_id });
    emit('response.output_item.done', { output_index: index, item: fileSearchItem(record, 'completed') });
    index += 1;
  }
  if (record.functionCall) {
    const item_id = record.functionCall.itemId;
    const args = record.functionCall.arguments;
    emit('response.output_item.added', { output_index: index, item: functionCallItem(record, 'in_progress', '') });
    emit('response.function_call_arguments.delta', { output_index: index, item_id, delta: args });
    emit('response.function_call_arguments.done', { output_index: index, item_id, arguments: args });
    emit('response.output_item.done', { output_index: index, item: functionCallItem(record, 'completed', args) });
  } else {
    const item_id = record.messageId;
    const text = answerText(record, final);
    const location = { item_id, output_index: index, content_index: 0 };
    emit('response.output_item.added', { output_index: index, item: messageItem(record, 'in_progress', null) });
    emit('response.content_part.added', { ...location, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
    for (const delta of splitDeltas(text, FAKE_DEFAULTS.STREAM_WORDS_PER_DELTA)) emit('response.output_text.delta', { ...location, delta, logprobs: [] });
    emit('response.output_text.done', { ...location, text, logprobs: [] });
    emit('response.content_part.done', { ...location, part: { type: 'output_text', text, annotations: [], logprobs: [] } });
    emit('response.output_item.done', { output_index: index, item: messageItem(record, final === 'incomplete' ? 'incomplete' : 'completed', text) });
  }
  const finalEvent = final === 'incomplete' ? 'response.incomplete' : 'response.completed';
  emit(finalEvent, { response: serializeResponse(state, record, { status: final }) });
  return frames;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function reasoningOf(req: Record<string, unknown>): { effort?: string; summary?: string } {
  return isRecord(req.reasoning) ? (req.reasoning) : {};
}

/**
 * Model-specific parameter rules of the live API: reasoning models (o-series) reject
 * sampling parameters with 400 `unsupported_parameter`; non-reasoning models (GPT-4.1)
 * reject `reasoning`.
 */
export function unsupportedParameterOf(model: string, body: Record<string, unknown>): string | undefined {
  const reasoningModel = /^o\d/.test(model) || /^gpt-5/.test(model);
  if (reasoningModel) return ['temperature', 'top_p'].find((p) => body[p] !== undefined && body[p] !== null);
  if (/^gpt-4/.test(model) && body.reasoning !== undefined && body.reasoning !== null) return 'reasoning';
  return undefined;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return !!value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}
