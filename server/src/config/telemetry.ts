/**
 * Telemetry settings from the standard OTEL_* environment (plus this server's own
 * SECOND_BRAIN_* switches), read from the `env` given to startTelemetry rather than from
 * process.env, and validated eagerly: a value this server cannot honour is an error at
 * startup that names the variable and the accepted values, never a silent fallback.
 *
 * Where each signal goes:
 * - an OTLP endpoint for the signal (`OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`, or
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/<signal>`) → OTLP over HTTP;
 * - no endpoint → local OTLP JSON files under `<home>/telemetry/` (the embedded default);
 * - `OTEL_<SIGNAL>_EXPORTER=none` → nothing; `=file` forces the local files.
 */
import { join } from 'node:path';
import { DiagLogLevel } from '@opentelemetry/api';
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { ErrorCode, SbError } from '../errors.ts';
import { DEFAULTS } from './defaults.ts';

export type Env = Record<string, string | undefined>;
export type Signal = 'traces' | 'metrics' | 'logs';
export type OtlpProtocol = 'http/json' | 'http/protobuf';
export type SamplerName =
  | 'always_on' | 'always_off' | 'traceidratio'
  | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

export interface OtlpTarget {
  kind: 'otlp';
  url: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'none' | 'gzip';
}
export type SignalTarget = OtlpTarget | { kind: 'file' } | { kind: 'none' };

export interface BatchSettings {
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMs: number;
  exportTimeoutMs: number;
}

export interface TelemetryConfig {
  /** OTEL_SDK_DISABLED=true: no SDK; the helpers stay no-ops and the watchdog still runs. */
  disabled: boolean;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  sampler: { name: SamplerName; ratio: number };
  propagators: Array<'tracecontext' | 'baggage'>;
  traces: SignalTarget;
  metrics: SignalTarget;
  logs: SignalTarget;
  spanBatch: BatchSettings;
  logBatch: BatchSettings;
  metricIntervalMs: number;
  metricTimeoutMs: number;
  diagLevel: DiagLogLevel;
  captureContent: boolean;
  profileOnStall: boolean;
  /** Local files (the default when a signal has no endpoint). */
  files: { dir: string; maxFileBytes: number; maxFiles: number; maxBufferBytes: number };
}

const SIGNAL_PATHS: Record<Signal, string> = { traces: 'v1/traces', metrics: 'v1/metrics', logs: 'v1/logs' };
const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];
const SAMPLERS: readonly SamplerName[] = [
  'always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio',
];
const DIAG_LEVELS: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE, error: DiagLogLevel.ERROR, warn: DiagLogLevel.WARN, info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG, verbose: DiagLogLevel.VERBOSE, all: DiagLogLevel.ALL,
};
/** The default OTLP/HTTP endpoint (spec) when a signal is set to `otlp` with no endpoint. */
const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

function configError(message: string): SbError {
  return new SbError(ErrorCode.CONFIG, message);
}

function str(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** Booleans as the rest of the configuration reads them: 1/true/yes/on and 0/false/no/off. */
export function readBool(env: Env, name: string, dflt: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return dflt;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw configError(`${name}="${v}" is not a boolean. Use true or false.`);
}

function positiveInt(env: Env, name: string, dflt: number): number {
  const v = str(env, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw configError(`${name}="${v}" is not a positive whole number of the unit it names.`);
  return n;
}

function firstOf(env: Env, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = str(env, name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

function httpUrl(name: string, value: string): URL {
  let url: URL;
  try { url = new URL(value); } catch {
    throw configError(`${name}="${value}" is not a URL. Use e.g. http://127.0.0.1:4318.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(`${name}="${value}" must be an http:// or https:// URL (OTLP over HTTP).`);
  }
  return url;
}

function signalTarget(env: Env, signal: Signal): SignalTarget {
  const S = signal.toUpperCase();
  const exporterVar = `OTEL_${S}_EXPORTER`;
  const exporter = str(env, exporterVar)?.toLowerCase();
  if (exporter !== undefined && !['otlp', 'none', 'file'].includes(exporter)) {
    const why = exporter === 'console' ? ' (console would write to stdout, which carries the MCP protocol)' : '';
    throw configError(`${exporterVar}="${exporter}" is not supported${why}. Use otlp, file or none.`);
  }
  if (exporter === 'none') return { kind: 'none' };
  if (exporter === 'file') return { kind: 'file' };

  const specific = str(env, `OTEL_EXPORTER_OTLP_${S}_ENDPOINT`);
  const general = str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  let url: string;
  if (specific !== undefined) {
    url = httpUrl(`OTEL_EXPORTER_OTLP_${S}_ENDPOINT`, specific).toString();
  } else if (general !== undefined || exporter === 'otlp') {
    const base = general ?? DEFAULT_OTLP_ENDPOINT;
    httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base);
    url = `${base.replace(/\/+$/, '')}/${SIGNAL_PATHS[signal]}`;
  } else {
    return { kind: 'file' };
  }

  const protocolVar = firstOf(env, [`OTEL_EXPORTER_OTLP_${S}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL']);
  const protocol = (protocolVar?.value ?? 'http/protobuf') as OtlpProtocol;
  if (!PROTOCOLS.includes(protocol)) {
    throw configError(
      `${protocolVar!.name}="${protocolVar!.value}" is not supported. Use http/protobuf or http/json (OTLP over HTTP, port 4318); ` +
      'grpc is not bundled.',
    );
  }
  const compressionVar = firstOf(env, [`OTEL_EXPORTER_OTLP_${S}_COMPRESSION`, 'OTEL_EXPORTER_OTLP_COMPRESSION']);
  const compression = compressionVar?.value ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') {
    throw configError(`${compressionVar!.name}="${compression}" is not supported. Use none or gzip.`);
  }
  const timeoutVar = firstOf(env, [`OTEL_EXPORTER_OTLP_${S}_TIMEOUT`, 'OTEL_EXPORTER_OTLP_TIMEOUT']);
  const timeoutMs = timeoutVar ? positiveInt(env, timeoutVar.name, DEFAULTS.TELEMETRY_EXPORT_TIMEOUT_MS) : DEFAULTS.TELEMETRY_EXPORT_TIMEOUT_MS;
  const headers = {
    ...parseKeyPairsIntoRecord(str(env, 'OTEL_EXPORTER_OTLP_HEADERS')),
    ...parseKeyPairsIntoRecord(str(env, `OTEL_EXPORTER_OTLP_${S}_HEADERS`)),
  };
  return { kind: 'otlp', url, protocol, headers, timeoutMs, compression };
}

function batchSettings(env: Env, prefix: 'OTEL_BSP' | 'OTEL_BLRP'): BatchSettings {
  const maxQueueSize = positiveInt(env, `${prefix}_MAX_QUEUE_SIZE`, DEFAULTS.TELEMETRY_QUEUE_MAX_ITEMS);
  const maxExportBatchSize = positiveInt(env, `${prefix}_MAX_EXPORT_BATCH_SIZE`, Math.min(DEFAULTS.TELEMETRY_BATCH_MAX_ITEMS, maxQueueSize));
  if (maxExportBatchSize > maxQueueSize) {
    throw configError(`${prefix}_MAX_EXPORT_BATCH_SIZE (${maxExportBatchSize}) must not exceed ${prefix}_MAX_QUEUE_SIZE (${maxQueueSize}).`);
  }
  return {
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMs: positiveInt(env, `${prefix}_SCHEDULE_DELAY`, DEFAULTS.TELEMETRY_BATCH_DELAY_MS),
    exportTimeoutMs: positiveInt(env, `${prefix}_EXPORT_TIMEOUT`, DEFAULTS.TELEMETRY_EXPORT_TIMEOUT_MS),
  };
}

function sampler(env: Env): TelemetryConfig['sampler'] {
  const raw = str(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_always_on';
  if (!SAMPLERS.includes(raw as SamplerName)) {
    throw configError(`OTEL_TRACES_SAMPLER="${raw}" is not supported. Use one of ${SAMPLERS.join(', ')}.`);
  }
  let ratio = 1;
  const arg = str(env, 'OTEL_TRACES_SAMPLER_ARG');
  if (raw.endsWith('traceidratio') && arg !== undefined) {
    ratio = Number(arg);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
      throw configError(`OTEL_TRACES_SAMPLER_ARG="${arg}" is not a ratio. Use a number from 0 to 1.`);
    }
  }
  return { name: raw as SamplerName, ratio };
}

function propagators(env: Env): TelemetryConfig['propagators'] {
  const raw = str(env, 'OTEL_PROPAGATORS');
  if (raw === undefined) return ['tracecontext', 'baggage'];
  const names = [...new Set(raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))];
  if (names.includes('none')) return [];
  for (const n of names) {
    if (n !== 'tracecontext' && n !== 'baggage') {
      throw configError(`OTEL_PROPAGATORS contains "${n}", which is not supported. Use tracecontext, baggage or none.`);
    }
  }
  return names as TelemetryConfig['propagators'];
}

/**
 * Reads and validates the telemetry settings from `env` (process.env when not given).
 * Throws SB_ERR_CONFIG naming the variable
 * and the accepted values.
 */
export function readTelemetryConfig(env: Env | undefined, home: string): TelemetryConfig {
  env ??= process.env;
  const disabled = readBool(env, 'OTEL_SDK_DISABLED', false);
  const levelRaw = str(env, 'OTEL_LOG_LEVEL')?.toLowerCase();
  if (levelRaw !== undefined && !(levelRaw in DIAG_LEVELS)) {
    throw configError(`OTEL_LOG_LEVEL="${levelRaw}" is not a level. Use one of ${Object.keys(DIAG_LEVELS).join(', ')}.`);
  }
  const metricIntervalMs = positiveInt(env, 'OTEL_METRIC_EXPORT_INTERVAL', DEFAULTS.TELEMETRY_METRIC_INTERVAL_MS);
  const metricTimeoutMs = Math.min(
    positiveInt(env, 'OTEL_METRIC_EXPORT_TIMEOUT', DEFAULTS.TELEMETRY_EXPORT_TIMEOUT_MS), metricIntervalMs,
  );
  const resourceAttributes = parseKeyPairsIntoRecord(str(env, 'OTEL_RESOURCE_ATTRIBUTES'));
  return {
    disabled,
    // Spec precedence: OTEL_SERVICE_NAME, then service.name in OTEL_RESOURCE_ATTRIBUTES.
    serviceName: str(env, 'OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? 'second-brain',
    resourceAttributes,
    sampler: sampler(env),
    propagators: propagators(env),
    traces: signalTarget(env, 'traces'),
    metrics: signalTarget(env, 'metrics'),
    logs: signalTarget(env, 'logs'),
    spanBatch: batchSettings(env, 'OTEL_BSP'),
    logBatch: batchSettings(env, 'OTEL_BLRP'),
    metricIntervalMs,
    metricTimeoutMs,
    diagLevel: levelRaw === undefined ? DiagLogLevel.WARN : DIAG_LEVELS[levelRaw]!,
    captureContent: readBool(env, 'SECOND_BRAIN_CAPTURE_CONTENT', false),
    profileOnStall: readBool(env, 'SECOND_BRAIN_PROFILE_ON_STALL', false),
    files: {
      dir: join(home, 'telemetry'),
      maxFileBytes: DEFAULTS.TELEMETRY_FILE_MAX_BYTES,
      maxFiles: DEFAULTS.TELEMETRY_FILE_MAX_COUNT,
      maxBufferBytes: DEFAULTS.TELEMETRY_FILE_BUFFER_MAX_BYTES,
    },
  };
}

let captureContent: boolean | undefined;

/** Set by startTelemetry from its `env`; cleared at shutdown. */
export function setCaptureContent(value: boolean | undefined): void {
  captureContent = value;
}

/**
 * Whether prompts and answers may be recorded on spans (`gen_ai.input.messages`,
 * `gen_ai.output.messages`). Off unless SECOND_BRAIN_CAPTURE_CONTENT=true: content may
 * hold source code and secrets. Before startTelemetry runs, process.env decides; an
 * invalid value reads as off here (startTelemetry reports it).
 *
 * @example
 * if (captureContentEnabled()) span.setAttribute(ATTR_GEN_AI_INPUT_MESSAGES, JSON.stringify(messages));
 */
export function captureContentEnabled(): boolean {
  if (captureContent !== undefined) return captureContent;
  try { return readBool(process.env, 'SECOND_BRAIN_CAPTURE_CONTENT', false); } catch { return false; }
}
