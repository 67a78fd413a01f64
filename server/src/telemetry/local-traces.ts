/**
 * Reads spans back from OTLP JSON lines files: the local telemetry files this server
 * writes (`<home>/telemetry/traces-*.jsonl`), or a collector `file` exporter's output.
 * Streams line by line; lines that do not parse are counted, not fatal (a file can end
 * in a partial line when the process was killed mid-write).
 *
 * No OpenTelemetry SDK import here: `second-brain traces` must start fast.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface LocalSpanEvent {
  name: string;
  timeNs: bigint;
  attributes: Record<string, unknown>;
}

export interface LocalSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  events: LocalSpanEvent[];
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  service?: string;
}

export interface ReadResult {
  spans: LocalSpan[];
  files: number;
  badLines: number;
}

type OtlpAnyValue = {
  stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] }; kvlistValue?: { values?: Array<{ key: string; value: OtlpAnyValue }> };
  bytesValue?: string;
};
type OtlpKeyValue = { key: string; value?: OtlpAnyValue };

function anyValue(v: OtlpAnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue) return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
  return v.bytesValue;
}

function attrs(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

function ns(v: unknown): bigint {
  try { return BigInt(typeof v === 'number' ? Math.trunc(v) : String(v ?? '0')); } catch { return 0n; }
}

/** Span and trace ids: hex as written by OTLP JSON; base64 (plain protobuf JSON) is converted. */
function id(v: unknown): string {
  const s = String(v ?? '');
  if (/^[0-9a-f]*$/i.test(s)) return s.toLowerCase();
  try { return Buffer.from(s, 'base64').toString('hex'); } catch { return s; }
}

/** An OTLP/JSON ExportTraceServiceRequest, as much of it as is read here. */
export interface OtlpTraceRequest {
  resourceSpans?: ReadonlyArray<{ resource?: { attributes?: readonly unknown[] }; scopeSpans?: ReadonlyArray<{ spans?: readonly unknown[] }> }>;
}

/** The spans of one ExportTraceServiceRequest line, those passing `keep`. */
export function spansFromLine(line: string, keep: (s: LocalSpan) => boolean = () => true): LocalSpan[] {
  return spansFromRequest(JSON.parse(line) as OtlpTraceRequest, keep);
}

/**
 * The spans of one parsed ExportTraceServiceRequest (OTLP JSON), those passing `keep`:
 * what a local trace file line or a chaos scenario's `traces/*.json` holds.
 */
export function spansFromRequest(request: OtlpTraceRequest, keep: (s: LocalSpan) => boolean = () => true): LocalSpan[] {
  const req = request as { resourceSpans?: Array<{ resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }> };
  const out: LocalSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const service = attrs(rs.resource?.attributes)['service.name'] as string | undefined;
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const parent = s.parentSpanId ? id(s.parentSpanId) : undefined;
        const span: LocalSpan = {
          traceId: id(s.traceId),
          spanId: id(s.spanId),
          ...(parent ? { parentSpanId: parent } : {}),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          startNs: ns(s.startTimeUnixNano),
          endNs: ns(s.endTimeUnixNano),
          attributes: attrs(s.attributes as OtlpKeyValue[] | undefined),
          events: ((s.events as Array<{ name?: string; timeUnixNano?: unknown; attributes?: OtlpKeyValue[] }> | undefined) ?? [])
            .map((e) => ({ name: String(e.name ?? ''), timeNs: ns(e.timeUnixNano), attributes: attrs(e.attributes) })),
          status: {
            code: Number((s.status as { code?: number } | undefined)?.code ?? 0),
            ...((s.status as { message?: string } | undefined)?.message ? { message: (s.status as { message: string }).message } : {}),
          },
          ...(service ? { service } : {}),
        };
        if (keep(span)) out.push(span);
      }
    }
  }
  return out;
}

/** `traces-*.jsonl` files in `dir`, oldest first (by modification time). */
export async function traceFiles(dir: string): Promise<string[]> {
  let names: string[];
  try { names = await readdir(dir); } catch { return []; }
  const files: Array<{ path: string; mtimeMs: number }> = [];
  for (const n of names) {
    if (!n.endsWith('.jsonl') || !n.startsWith('traces')) continue;
    const path = join(dir, n);
    try { files.push({ path, mtimeMs: (await stat(path)).mtimeMs }); } catch { /* removed meanwhile */ }
  }
  return files.sort((a, b) => a.mtimeMs - b.mtimeMs).map((f) => f.path);
}

/** Reads every span passing `keep` from the trace files in `dir`. */
export async function readSpans(dir: string, keep: (s: LocalSpan) => boolean = () => true): Promise<ReadResult> {
  const files = await traceFiles(dir);
  const spans: LocalSpan[] = [];
  let badLines = 0;
  for (const file of files) {
    const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of rl) {
      if (!line.trim()) continue;
      try { spans.push(...spansFromLine(line, keep)); } catch { badLines++; }
    }
  }
  return { spans, files: files.length, badLines };
}
