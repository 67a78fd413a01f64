/**
 * OTLP/HTTP exporters (http/protobuf or http/json) with short timeouts, few requests in
 * flight, and HTTP agents this module owns, so shutdown can cut a dead collector loose:
 * once the flush deadline passes, `closeAll()` destroys every socket and refuses new
 * connections, which ends pending exports (and their retries) at once instead of letting
 * them hold the process for a full timeout (KI-21).
 *
 * The exporters send with node:http, not fetch, so the undici instrumentation never
 * traces telemetry's own requests.
 */
import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { LogRecordExporter } from '@opentelemetry/sdk-logs';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { DEFAULTS } from '../config/defaults.ts';
import type { OtlpTarget } from '../config/telemetry.ts';

const CLOSED_MESSAGE = 'telemetry exporter closed at shutdown';

type CreateConnection = (options: unknown, callback: (err: Error | null, socket?: Duplex) => void) => Duplex | undefined;

/** Makes an agent refuse new connections once `closed` is set (the error is not retryable). */
function closable<T extends HttpAgent>(agent: T, state: { closed: boolean }): T {
  const create = (agent as unknown as { createConnection: CreateConnection }).createConnection.bind(agent);
  (agent as unknown as { createConnection: CreateConnection }).createConnection = (options, callback) => {
    if (state.closed) {
      process.nextTick(() => callback(new Error(CLOSED_MESSAGE)));
      return undefined;
    }
    return create(options, callback);
  };
  return agent;
}

/** The HTTP agents of every OTLP exporter, so they can be closed together. */
export class ExporterAgents {
  readonly #agents: HttpAgent[] = [];
  readonly #state = { closed: false };

  /** An agent factory for the exporters' `httpAgentOptions`. */
  factory(): (protocol: string) => Promise<HttpAgent> {
    return async (protocol: string) => {
      const options: AgentOptions = { keepAlive: true, maxSockets: DEFAULTS.TELEMETRY_EXPORT_CONCURRENCY };
      const agent = closable(protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options), this.#state);
      this.#agents.push(agent);
      return agent;
    };
  }

  /**
   * Refuses new connections and destroys every socket. Sockets in use are destroyed with
   * an error that carries no network code, so the exporter sees a final failure at once
   * instead of scheduling a retry.
   */
  closeAll(): void {
    this.#state.closed = true;
    for (const a of this.#agents) {
      for (const list of Object.values(a.sockets)) for (const s of list ?? []) s.destroy(new Error(CLOSED_MESSAGE));
      a.destroy();
    }
  }
}

function options(target: OtlpTarget, agents: ExporterAgents) {
  return {
    url: target.url,
    headers: target.headers,
    timeoutMillis: target.timeoutMs,
    concurrencyLimit: DEFAULTS.TELEMETRY_EXPORT_CONCURRENCY,
    compression: target.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
    httpAgentOptions: agents.factory(),
  };
}

export function otlpSpanExporter(target: OtlpTarget, agents: ExporterAgents): SpanExporter {
  const o = options(target, agents);
  return target.protocol === 'http/json' ? new JsonTraceExporter(o) : new ProtoTraceExporter(o);
}

export function otlpMetricExporter(target: OtlpTarget, agents: ExporterAgents): PushMetricExporter {
  const o = options(target, agents);
  return target.protocol === 'http/json' ? new JsonMetricExporter(o) : new ProtoMetricExporter(o);
}

export function otlpLogExporter(target: OtlpTarget, agents: ExporterAgents): LogRecordExporter {
  const o = options(target, agents);
  return target.protocol === 'http/json' ? new JsonLogExporter(o) : new ProtoLogExporter(o);
}
