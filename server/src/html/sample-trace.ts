/**
 * A made-up but typical trace in OTLP JSON, with the span and event names the server
 * emits: a chat call whose context upload hit a 429, whose model call waited out a retry,
 * polled a background response through an event-loop stall and was then cancelled by the
 * client. For the trace page's tests and its screenshot in the README.
 */
import {
  ATTR_ERROR_TYPE, ATTR_GEN_AI_REQUEST_MODEL, ATTR_GEN_AI_TOOL_NAME, ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_MCP_METHOD_NAME, ATTR_SB_CANCELLED, ATTR_SB_CANCEL_REASON, ATTR_SB_FILES_INLINE, ATTR_SB_FILES_OVERFLOW, ATTR_SB_LOOP_BLOCKED_MS,
  ATTR_SB_LOOP_INFLIGHT, ATTR_SB_RESPONSE_STATUS, ATTR_SB_RETRY_ATTEMPT, ATTR_SB_RETRY_DELAY_MS, EVENT_SB_CANCELLED, EVENT_SB_LOOP_BLOCKED,
  EVENT_SB_RETRY, EVENT_SB_STATUS_CHANGE,
} from '../telemetry/semconv.ts';
import type { OtlpTraceRequest } from '../telemetry/local-traces.ts';

export const SAMPLE_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

type Attr = Record<string, string | number | boolean | string[]>;
interface SampleSpan {
  id: string;
  parent?: string;
  name: string;
  kind?: number;
  from: number;
  to: number;
  attributes?: Attr;
  events?: Array<{ name: string; at: number; attributes?: Attr }>;
  error?: string;
}

const STALL = { name: EVENT_SB_LOOP_BLOCKED, at: 1_830, attributes: { [ATTR_SB_LOOP_BLOCKED_MS]: 320, [ATTR_SB_LOOP_INFLIGHT]: ['chat_with_o3:poll'] } };
const CANCEL = { name: EVENT_SB_CANCELLED, at: 2_310, attributes: { [ATTR_SB_CANCEL_REASON]: 'client cancelled' } };

/** Span ids are 16 hex digits; the sample's are readable in tests (`…0001` is the root). */
const SPANS: SampleSpan[] = [
  { id: '0001', name: 'tools/call chat_with_o3', kind: 2, from: 0, to: 2_330, attributes: { [ATTR_MCP_METHOD_NAME]: 'tools/call', [ATTR_GEN_AI_TOOL_NAME]: 'chat_with_o3', [ATTR_SB_CANCELLED]: true, [ATTR_ERROR_TYPE]: 'SB_ERR_CANCELLED' }, events: [STALL, CANCEL], error: 'The call was cancelled.' },
  { id: '0002', parent: '0001', name: 'context.prepare', from: 4, to: 210, attributes: { [ATTR_SB_FILES_INLINE]: 12, [ATTR_SB_FILES_OVERFLOW]: 3 } },
  { id: '0003', parent: '0001', name: 'context.upload', from: 212, to: 880, attributes: { 'second_brain.upload.files': 3, 'second_brain.upload.retries': 1 } },
  { id: '0004', parent: '0003', name: 'POST', kind: 3, from: 220, to: 300, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', 'url.path': '/v1/files', [ATTR_HTTP_RESPONSE_STATUS_CODE]: 429, [ATTR_ERROR_TYPE]: '429' }, error: 'rate limited' },
  { id: '0005', parent: '0003', name: 'retry.wait', from: 300, to: 700, attributes: { [ATTR_SB_RETRY_ATTEMPT]: 1, [ATTR_SB_RETRY_DELAY_MS]: 400 } },
  { id: '0006', parent: '0003', name: 'POST', kind: 3, from: 700, to: 790, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', 'url.path': '/v1/files', [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200 } },
  { id: '0007', parent: '0003', name: 'POST', kind: 3, from: 792, to: 870, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', 'url.path': '/v1/vector_stores/vs_1/file_batches', [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200 } },
  { id: '0008', parent: '0001', name: 'chat o3', kind: 3, from: 882, to: 2_325, attributes: { [ATTR_GEN_AI_REQUEST_MODEL]: 'o3', 'gen_ai.provider.name': 'openai', 'second_brain.background': true, [ATTR_SB_CANCELLED]: true }, events: [{ name: EVENT_SB_RETRY, at: 960, attributes: { [ATTR_SB_RETRY_ATTEMPT]: 1, [ATTR_SB_RETRY_DELAY_MS]: 250 } }, STALL, CANCEL] },
  { id: '0009', parent: '0008', name: 'POST', kind: 3, from: 890, to: 955, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', 'url.path': '/v1/responses', [ATTR_HTTP_RESPONSE_STATUS_CODE]: 503, [ATTR_ERROR_TYPE]: '503' }, error: 'service unavailable' },
  { id: '000a', parent: '0008', name: 'retry.wait', from: 960, to: 1_210, attributes: { [ATTR_SB_RETRY_ATTEMPT]: 1, [ATTR_SB_RETRY_DELAY_MS]: 250 } },
  { id: '000b', parent: '0008', name: 'POST', kind: 3, from: 1_212, to: 1_290, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', 'url.path': '/v1/responses', [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200, 'second_brain.ratelimit.remaining_requests': 98 } },
  { id: '000c', parent: '0008', name: 'openai.poll_background', from: 1_292, to: 2_322, attributes: { [ATTR_SB_RESPONSE_STATUS]: 'in_progress' }, events: [{ name: EVENT_SB_STATUS_CHANGE, at: 1_300, attributes: { [ATTR_SB_RESPONSE_STATUS]: 'queued' } }, { name: EVENT_SB_STATUS_CHANGE, at: 1_790, attributes: { [ATTR_SB_RESPONSE_STATUS]: 'in_progress' } }, STALL, CANCEL] },
  { id: '000d', parent: '000c', name: 'GET', kind: 3, from: 1_780, to: 1_820, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'GET', 'url.path': '/v1/responses/resp_1', [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200 } },
  { id: '000e', parent: '000c', name: 'POST', kind: 3, from: 2_312, to: 2_320, attributes: { [ATTR_HTTP_REQUEST_METHOD]: 'POST', 'url.path': '/v1/responses/resp_1/cancel', [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200 } },
];

/** How many spans {@link sampleTrace} holds. */
export const SAMPLE_SPAN_COUNT = SPANS.length;

export function sampleSpanId(short: string): string {
  return short.padStart(16, 'a');
}

function kv(a: Attr | undefined) {
  return Object.entries(a ?? {}).map(([key, v]) => ({
    key,
    value: Array.isArray(v) ? { arrayValue: { values: v.map((s) => ({ stringValue: s })) } }
      : typeof v === 'boolean' ? { boolValue: v } : typeof v === 'number' ? (Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }) : { stringValue: v },
  }));
}

/** The sample trace as one OTLP JSON export request, starting at `startMs` (epoch ms). */
export function sampleTrace(startMs = Date.UTC(2026, 0, 15, 9, 30, 0)): OtlpTraceRequest {
  const nano = (at: number) => (BigInt(Math.round((startMs + at) * 1_000)) * 1_000n).toString();
  return {
    resourceSpans: [{
      resource: { attributes: kv({ 'service.name': 'second-brain' }) },
      scopeSpans: [{
        spans: SPANS.map((s) => ({
          traceId: SAMPLE_TRACE_ID,
          spanId: sampleSpanId(s.id),
          ...(s.parent ? { parentSpanId: sampleSpanId(s.parent) } : {}),
          name: s.name,
          kind: s.kind ?? 1,
          startTimeUnixNano: nano(s.from),
          endTimeUnixNano: nano(s.to),
          attributes: kv(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, timeUnixNano: nano(e.at), attributes: kv(e.attributes) })),
          status: s.error ? { code: 2, message: s.error } : { code: 0 },
        })),
      }],
    }],
  };
}
