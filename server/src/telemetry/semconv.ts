/**
 * Semantic-convention names, in one place. Stable names are imported from
 * @opentelemetry/semantic-conventions; names from the development (unstable) GenAI and
 * MCP conventions are copied here as documented constants, because the package keeps
 * them under an `incubating` entry point that may change without a major release.
 */
import {
  ATTR_ERROR_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_URL_FULL,
  ATTR_URL_QUERY,
  ATTR_EXCEPTION_MESSAGE,
  ATTR_EXCEPTION_TYPE,
  ATTR_EXCEPTION_STACKTRACE,
} from '@opentelemetry/semantic-conventions';

export {
  ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_REQUEST_METHOD,
  ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION, ATTR_SERVICE_INSTANCE_ID, ATTR_URL_FULL, ATTR_URL_QUERY,
  ATTR_EXCEPTION_MESSAGE, ATTR_EXCEPTION_TYPE, ATTR_EXCEPTION_STACKTRACE,
};

/** Process id (resource attribute; development in semconv, stable in practice). */
export const ATTR_PROCESS_PID = 'process.pid' as const;
/** Runtime name and version (resource attributes, development). */
export const ATTR_PROCESS_RUNTIME_NAME = 'process.runtime.name' as const;
export const ATTR_PROCESS_RUNTIME_VERSION = 'process.runtime.version' as const;

// MCP conventions (development): https://opentelemetry.io/docs/specs/semconv/gen-ai/mcp/
/** JSON-RPC method name, e.g. `tools/call`. */
export const ATTR_MCP_METHOD_NAME = 'mcp.method.name' as const;
/** MCP session id (Streamable HTTP session, or the stdio connection id). */
export const ATTR_MCP_SESSION_ID = 'mcp.session.id' as const;
/** Negotiated MCP protocol version. */
export const ATTR_MCP_PROTOCOL_VERSION = 'mcp.protocol.version' as const;
/** JSON-RPC request id. */
export const ATTR_JSONRPC_REQUEST_ID = 'jsonrpc.request.id' as const;
/** Transport: `pipe` for stdio, `tcp` for HTTP. */
export const ATTR_NETWORK_TRANSPORT = 'network.transport' as const;

// GenAI conventions (development): https://opentelemetry.io/docs/specs/semconv/gen-ai/
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name' as const;
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name' as const;
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model' as const;
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model' as const;
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id' as const;
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens' as const;
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens' as const;
export const ATTR_GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id' as const;
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name' as const;

/** Values of gen_ai.operation.name. */
export const GEN_AI_OPERATION = { CHAT: 'chat', EXECUTE_TOOL: 'execute_tool' } as const;
/** Values of gen_ai.provider.name. */
export const GEN_AI_PROVIDER = { OPENAI: 'openai', XAI: 'x_ai', GEMINI: 'gcp.gemini' } as const;

// Metric names.
export const METRIC_MCP_SERVER_OPERATION_DURATION = 'mcp.server.operation.duration' as const;
export const METRIC_GEN_AI_CLIENT_OPERATION_DURATION = 'gen_ai.client.operation.duration' as const;
export const METRIC_GEN_AI_CLIENT_TOKEN_USAGE = 'gen_ai.client.token.usage' as const;
export const ATTR_GEN_AI_TOKEN_TYPE = 'gen_ai.token.type' as const;
/** Values of gen_ai.token.type. */
export const GEN_AI_TOKEN_TYPE = { INPUT: 'input', OUTPUT: 'output' } as const;

// This server's own metrics (namespaced; units are given where the instrument is created).
/** Counter: retry waits, by provider. */
export const METRIC_SB_RETRIES = 'second_brain.retries' as const;
/** Counter: HTTP 429 answers, by provider. */
export const METRIC_SB_RATE_LIMITED = 'second_brain.rate_limited' as const;
/** Counter: circuit-breaker openings, by provider. */
export const METRIC_SB_CIRCUIT_OPENS = 'second_brain.circuit.opens' as const;
/** Counter: files uploaded to vector stores. */
export const METRIC_SB_UPLOADS = 'second_brain.uploads' as const;
/** Counter: log records dropped (stderr buffer full, or telemetry queue/export), by sink. */
export const METRIC_SB_LOGS_DROPPED = 'second_brain.logs.dropped' as const;
/** Counter: spans dropped (queue full or export failed), by reason. */
export const METRIC_SB_SPANS_DROPPED = 'second_brain.spans.dropped' as const;
/** Counter: event-loop stalls past the watchdog threshold. */
export const METRIC_SB_LOOP_STALLS = 'second_brain.loop.stalls' as const;
/** Gauge: in-flight tool calls, by phase. */
export const METRIC_SB_INFLIGHT = 'second_brain.inflight' as const;
/** Gauge: remaining requests in the provider's rate-limit window, by provider. */
export const METRIC_SB_RATELIMIT_HEADROOM = 'second_brain.ratelimit.headroom' as const;

// This server's own attributes and events (namespaced, low cardinality).
export const ATTR_SB_PHASE = 'second_brain.phase' as const;
export const ATTR_SB_CANCELLED = 'second_brain.cancelled' as const;
export const ATTR_SB_CANCEL_REASON = 'second_brain.cancel.reason' as const;
export const ATTR_SB_RETRY_ATTEMPT = 'second_brain.retry.attempt' as const;
export const ATTR_SB_RETRY_AFTER_MS = 'second_brain.retry.after_ms' as const;
export const ATTR_SB_RETRY_DELAY_MS = 'second_brain.retry.delay_ms' as const;
export const ATTR_SB_CIRCUIT_STATE = 'second_brain.circuit.state' as const;
export const ATTR_SB_BACKGROUND = 'second_brain.background' as const;
export const ATTR_SB_RESPONSE_STATUS = 'second_brain.response.status' as const;
export const ATTR_SB_FILES_INLINE = 'second_brain.context.files_inline' as const;
export const ATTR_SB_FILES_OVERFLOW = 'second_brain.context.files_overflow' as const;
export const ATTR_SB_FILES_SKIPPED = 'second_brain.context.files_skipped' as const;
export const ATTR_SB_TOKENS_INLINE = 'second_brain.context.tokens_inline' as const;
export const ATTR_SB_BUDGET_TOKENS = 'second_brain.context.budget_tokens' as const;
export const ATTR_SB_UPLOAD_FILES = 'second_brain.upload.files' as const;
export const ATTR_SB_UPLOAD_FAILED = 'second_brain.upload.failed' as const;
export const ATTR_SB_RATELIMIT_PREFIX = 'second_brain.ratelimit.' as const;
/** Why telemetry was dropped: `queue_full` or `export_failed`. */
export const ATTR_SB_DROP_REASON = 'second_brain.drop.reason' as const;
/** Which log sink dropped records: `stderr` or `otlp`. */
export const ATTR_SB_LOG_SINK = 'second_brain.log.sink' as const;
/** Length of an event-loop stall, in ms (on the loop-blocked event). */
export const ATTR_SB_LOOP_BLOCKED_MS = 'second_brain.loop.blocked_ms' as const;
/** Process CPU time (all threads) during an event-loop stall, in ms: near the stall's length means computing, far below means waiting. */
export const ATTR_SB_LOOP_BLOCKED_CPU_MS = 'second_brain.loop.blocked_cpu_ms' as const;
/** In-flight operations at the time of a stall, as `tool:phase` strings. */
export const ATTR_SB_LOOP_INFLIGHT = 'second_brain.loop.inflight' as const;
export const EVENT_SB_CANCELLED = 'second_brain.cancelled' as const;
export const EVENT_SB_STATUS_CHANGE = 'second_brain.status_change' as const;
export const EVENT_SB_LOOP_BLOCKED = 'second_brain.loop.blocked' as const;
/** The watchdog's own span for each stall (a root span, linked to the spans it held up). */
export const SPAN_SB_LOOP_BLOCKED = 'loop.blocked' as const;
export const EVENT_SB_RETRY = 'second_brain.retry' as const;
export const EVENT_SB_CIRCUIT = 'second_brain.circuit' as const;
