/**
 * The server's metrics, behind plain functions the call flow can call without caring
 * whether telemetry runs: before startTelemetry (or with OTEL_SDK_DISABLED) each is a
 * single `undefined` check. The instruments are created when the SDK starts, because
 * instruments taken from the API before a MeterProvider is registered stay no-ops forever.
 *
 * Units follow the semantic conventions: durations in `s`, tokens in `{token}`.
 * Attributes are low-cardinality: tool names and models come from the catalogue,
 * error.type is a stable code.
 */
import { ValueType, type Counter, type Histogram, type Meter, type ObservableResult } from '@opentelemetry/api';
import type { InflightRegistry } from '../runtime/inflight.ts';
import {
  ATTR_ERROR_TYPE, ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_PROVIDER_NAME, ATTR_GEN_AI_REQUEST_MODEL, ATTR_GEN_AI_TOKEN_TYPE,
  ATTR_GEN_AI_TOOL_NAME, ATTR_MCP_METHOD_NAME, ATTR_SB_DROP_REASON, ATTR_SB_LOG_SINK, ATTR_SB_PHASE, GEN_AI_OPERATION,
  GEN_AI_PROVIDER, GEN_AI_TOKEN_TYPE, METRIC_GEN_AI_CLIENT_OPERATION_DURATION, METRIC_GEN_AI_CLIENT_TOKEN_USAGE,
  METRIC_MCP_SERVER_OPERATION_DURATION, METRIC_SB_CIRCUIT_OPENS, METRIC_SB_INFLIGHT, METRIC_SB_LOGS_DROPPED,
  METRIC_SB_LOOP_STALLS, METRIC_SB_RATE_LIMITED, METRIC_SB_RATELIMIT_HEADROOM, METRIC_SB_RETRIES, METRIC_SB_SPANS_DROPPED,
  METRIC_SB_UPLOADS,
} from './semconv.ts';

/** Bucket advice from the GenAI and MCP conventions (seconds; tokens). */
const DURATION_BUCKETS_S = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 327.68];
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

interface Instruments {
  toolDuration: Histogram;
  genAiDuration: Histogram;
  tokenUsage: Histogram;
  retries: Counter;
  rateLimited: Counter;
  circuitOpens: Counter;
  uploads: Counter;
  loopStalls: Counter;
}

/** Where the observable instruments read from. */
export interface MetricSources {
  registry?: InflightRegistry;
  /** Telemetry drops so far, by reason. */
  drops: () => { spansQueueFull: number; spansExportFailed: number; logsQueueFull: number; logsExportFailed: number };
  /** Log records the stderr writer dropped so far. */
  stderrDropped: () => number;
}

let instruments: Instruments | undefined;
const headroom = new Map<string, number>();

/** App provider ids map to gen_ai.provider.name values; semconv values pass through. */
const PROVIDER_NAMES: Record<string, string> = { xai: GEN_AI_PROVIDER.XAI, gemini: GEN_AI_PROVIDER.GEMINI };
function providerName(provider: string): string {
  return PROVIDER_NAMES[provider] ?? provider;
}

/** Creates the instruments on `meter`. Returns the undo (the functions become no-ops again). */
export function bindMetrics(meter: Meter, sources: MetricSources): () => void {
  instruments = {
    toolDuration: meter.createHistogram(METRIC_MCP_SERVER_OPERATION_DURATION, {
      description: 'Duration of MCP tool calls, as the server handled them.', unit: 's', valueType: ValueType.DOUBLE,
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    genAiDuration: meter.createHistogram(METRIC_GEN_AI_CLIENT_OPERATION_DURATION, {
      description: 'Duration of model calls, retries and polling included.', unit: 's', valueType: ValueType.DOUBLE,
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
    }),
    tokenUsage: meter.createHistogram(METRIC_GEN_AI_CLIENT_TOKEN_USAGE, {
      description: 'Tokens used per model call, by token type.', unit: '{token}', valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    }),
    retries: meter.createCounter(METRIC_SB_RETRIES, { description: 'Retry waits before another upstream attempt.', unit: '{retry}', valueType: ValueType.INT }),
    rateLimited: meter.createCounter(METRIC_SB_RATE_LIMITED, { description: 'HTTP 429 answers from providers.', unit: '{response}', valueType: ValueType.INT }),
    circuitOpens: meter.createCounter(METRIC_SB_CIRCUIT_OPENS, { description: 'Times a provider circuit breaker opened.', unit: '{event}', valueType: ValueType.INT }),
    uploads: meter.createCounter(METRIC_SB_UPLOADS, { description: 'Files uploaded to vector stores.', unit: '{file}', valueType: ValueType.INT }),
    loopStalls: meter.createCounter(METRIC_SB_LOOP_STALLS, { description: 'Event-loop stalls past the watchdog threshold.', unit: '{stall}', valueType: ValueType.INT }),
  };

  const spansDropped = meter.createObservableCounter(METRIC_SB_SPANS_DROPPED, {
    description: 'Spans dropped: export queue full, or export failed.', unit: '{span}', valueType: ValueType.INT,
  });
  spansDropped.addCallback((r: ObservableResult) => {
    const d = sources.drops();
    r.observe(d.spansQueueFull, { [ATTR_SB_DROP_REASON]: 'queue_full' });
    r.observe(d.spansExportFailed, { [ATTR_SB_DROP_REASON]: 'export_failed' });
  });
  const logsDropped = meter.createObservableCounter(METRIC_SB_LOGS_DROPPED, {
    description: 'Log records dropped: stderr buffer full, or telemetry queue full / export failed.', unit: '{record}', valueType: ValueType.INT,
  });
  logsDropped.addCallback((r: ObservableResult) => {
    const d = sources.drops();
    r.observe(sources.stderrDropped(), { [ATTR_SB_LOG_SINK]: 'stderr' });
    r.observe(d.logsQueueFull, { [ATTR_SB_LOG_SINK]: 'otlp', [ATTR_SB_DROP_REASON]: 'queue_full' });
    r.observe(d.logsExportFailed, { [ATTR_SB_LOG_SINK]: 'otlp', [ATTR_SB_DROP_REASON]: 'export_failed' });
  });

  // Phases seen once are reported as 0 afterwards, so a gauge drops to zero instead of vanishing.
  const phasesSeen = new Set<string>();
  const inflight = meter.createObservableGauge(METRIC_SB_INFLIGHT, {
    description: 'Tool calls in flight, by phase.', unit: '{call}', valueType: ValueType.INT,
  });
  inflight.addCallback((r: ObservableResult) => {
    const counts = sources.registry?.countByPhase() ?? {};
    for (const p of Object.keys(counts)) phasesSeen.add(p);
    for (const p of phasesSeen) r.observe(counts[p] ?? 0, { [ATTR_SB_PHASE]: p });
  });
  const headroomGauge = meter.createObservableGauge(METRIC_SB_RATELIMIT_HEADROOM, {
    description: 'Requests left in the provider rate-limit window (x-ratelimit-remaining-requests).', unit: '{request}', valueType: ValueType.INT,
  });
  headroomGauge.addCallback((r: ObservableResult) => {
    for (const [provider, remaining] of headroom) r.observe(remaining, { [ATTR_GEN_AI_PROVIDER_NAME]: provider });
  });

  return () => {
    instruments = undefined;
  };
}

/**
 * Records one tool call's duration (`mcp.server.operation.duration`, s).
 * @example recordToolDuration('ask_o3', 12.5, 'SB_ERR_UPSTREAM_TIMEOUT')
 */
export function recordToolDuration(tool: string, seconds: number, errorType?: string): void {
  instruments?.toolDuration.record(seconds, {
    [ATTR_MCP_METHOD_NAME]: 'tools/call',
    [ATTR_GEN_AI_TOOL_NAME]: tool,
    ...(errorType ? { [ATTR_ERROR_TYPE]: errorType } : {}),
  });
}

/**
 * Records one model call's duration (`gen_ai.client.operation.duration`, s).
 * `provider` may be the app id (openai, xai, gemini) or the semconv value.
 */
export function recordGenAiDuration(provider: string, model: string, seconds: number, errorType?: string): void {
  instruments?.genAiDuration.record(seconds, {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION.CHAT,
    [ATTR_GEN_AI_PROVIDER_NAME]: providerName(provider),
    [ATTR_GEN_AI_REQUEST_MODEL]: model,
    ...(errorType ? { [ATTR_ERROR_TYPE]: errorType } : {}),
  });
}

/** Records a model call's token usage (`gen_ai.client.token.usage`, {token}), input and output separately. */
export function recordTokenUsage(provider: string, model: string, tokens: { input?: number; output?: number }): void {
  const i = instruments;
  if (!i) return;
  const base = {
    [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION.CHAT,
    [ATTR_GEN_AI_PROVIDER_NAME]: providerName(provider),
    [ATTR_GEN_AI_REQUEST_MODEL]: model,
  };
  if (tokens.input !== undefined) i.tokenUsage.record(tokens.input, { ...base, [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE.INPUT });
  if (tokens.output !== undefined) i.tokenUsage.record(tokens.output, { ...base, [ATTR_GEN_AI_TOKEN_TYPE]: GEN_AI_TOKEN_TYPE.OUTPUT });
}

/** Counts one retry wait (`second_brain.retries`). */
export function countRetry(provider: string): void {
  instruments?.retries.add(1, { [ATTR_GEN_AI_PROVIDER_NAME]: providerName(provider) });
}

/** Counts one HTTP 429 answer (`second_brain.rate_limited`). */
export function count429(provider: string): void {
  instruments?.rateLimited.add(1, { [ATTR_GEN_AI_PROVIDER_NAME]: providerName(provider) });
}

/** Counts one circuit-breaker opening (`second_brain.circuit.opens`). */
export function countCircuitOpen(provider: string): void {
  instruments?.circuitOpens.add(1, { [ATTR_GEN_AI_PROVIDER_NAME]: providerName(provider) });
}

/** Counts files uploaded to vector stores (`second_brain.uploads`). Default 1. */
export function countUpload(n = 1): void {
  if (n > 0) instruments?.uploads.add(n);
}

/** Counts one event-loop stall (`second_brain.loop.stalls`); the watchdog calls it. */
export function countLoopStall(): void {
  instruments?.loopStalls.add(1);
}

/**
 * Sets the provider's rate-limit headroom (remaining requests in its window), reported by
 * the `second_brain.ratelimit.headroom` gauge and `rateLimitHeadroom()`. Works without the
 * SDK too (server_diagnostics reads it). `undefined` forgets the provider.
 */
export function setRateLimitHeadroom(provider: string, remainingRequests: number | undefined): void {
  const name = providerName(provider);
  if (remainingRequests === undefined || !Number.isFinite(remainingRequests)) headroom.delete(name);
  else headroom.set(name, remainingRequests);
}

/** The last headroom set per provider (gen_ai.provider.name values). */
export function rateLimitHeadroom(): Record<string, number> {
  return Object.fromEntries(headroom);
}
