import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * A tiny OTLP/HTTP receiver on 127.0.0.1 for the server under test
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`). It keeps the
 * JSON bodies of `/v1/traces` and `/v1/logs` so a scenario's trace can be written out and
 * searched for secrets. Protobuf bodies are counted, not decoded. Bounded: past
 * `maxBytes` bodies are dropped and counted.
 */

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number; message?: string };
  events?: Array<{ name: string; timeUnixNano: string; attributes?: unknown[] }>;
}

export interface ResourceSpans {
  resource?: { attributes?: Array<{ key: string; value: Record<string, unknown> }> };
  scopeSpans?: Array<{ scope?: { name?: string; version?: string }; spans?: OtlpSpan[] }>;
}

export interface Collected {
  resourceSpans: ResourceSpans[];
  /** Raw JSON texts of every body (traces and logs), for searching. */
  texts: string[];
  /** Bodies that were not JSON (protobuf) and so were not decoded. */
  undecoded: number;
  dropped: number;
}

/** Default bound on the bytes kept between two `take()` calls. */
export const DEFAULT_OTLP_MAX_BYTES = 32 * 1024 * 1024;

export class OtlpReceiver {
  readonly #server: Server;
  #port = 0;
  #bytes = 0;
  readonly #maxBytes: number;
  #collected: Collected = { resourceSpans: [], texts: [], undecoded: 0, dropped: 0 };

  private constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.#accept(req.url ?? '/', req.headers['content-type'] ?? '', req.headers['content-encoding'] ?? '', Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
      req.on('error', () => res.destroy());
    });
  }

  static async start(maxBytes = DEFAULT_OTLP_MAX_BYTES): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver(maxBytes);
    await new Promise<void>((resolve, reject) => {
      receiver.#server.once('error', reject);
      receiver.#server.listen(0, '127.0.0.1', () => resolve());
    });
    receiver.#server.unref();
    receiver.#port = (receiver.#server.address() as AddressInfo).port;
    return receiver;
  }

  /** `http://127.0.0.1:PORT` (the SDK appends `/v1/traces`, `/v1/logs`). */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Everything received since the last take, and starts afresh. */
  take(): Collected {
    const out = this.#collected;
    this.#collected = { resourceSpans: [], texts: [], undecoded: 0, dropped: 0 };
    this.#bytes = 0;
    return out;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }

  #accept(url: string, type: string, encoding: string, raw: Buffer): void {
    if (!/\/v1\/(traces|logs|metrics)$/.test(url.split('?')[0]!)) return;
    let body = raw;
    try {
      if (encoding.includes('gzip')) body = gunzipSync(raw);
    } catch {
      this.#collected.undecoded += 1;
      return;
    }
    if (!type.includes('json')) {
      this.#collected.undecoded += 1;
      return;
    }
    if (this.#bytes + body.length > this.#maxBytes) {
      this.#collected.dropped += 1;
      return;
    }
    this.#bytes += body.length;
    const text = body.toString('utf8');
    this.#collected.texts.push(text);
    if (!url.includes('/v1/traces')) return;
    try {
      const parsed = JSON.parse(text) as { resourceSpans?: ResourceSpans[] };
      this.#collected.resourceSpans.push(...(parsed.resourceSpans ?? []));
    } catch {
      this.#collected.undecoded += 1;
    }
  }
}

/** A span flattened for the report's waterfall, times in wall ms. */
export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  startMs: number;
  endMs: number;
  error: boolean;
}

export function flattenSpans(resourceSpans: readonly ResourceSpans[]): FlatSpan[] {
  const out: FlatSpan[] = [];
  for (const rs of resourceSpans) {
    const service = String(rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? 'unknown');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name,
          service,
          startMs: Number(BigInt(s.startTimeUnixNano) / 1000n) / 1000,
          endMs: Number(BigInt(s.endTimeUnixNano) / 1000n) / 1000,
          error: s.status?.code === 2,
        });
      }
    }
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

/** Harness-side spans in OTLP JSON, so the scenario root and its calls sit in the same file as the server's spans. */
export function toResourceSpans(
  service: string,
  spans: ReadonlyArray<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind: 'internal' | 'client'; startMs: number; endMs: number; attributes: Record<string, string | number | boolean>; error?: string }>,
): ResourceSpans {
  const nanos = (ms: number) => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
  const value = (v: string | number | boolean) => (typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v });
  return {
    resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
    scopeSpans: [
      {
        scope: { name: 'second-brain-chaos', version: '0.1.0' },
        spans: spans.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name,
          kind: s.kind === 'client' ? 3 : 1,
          startTimeUnixNano: nanos(s.startMs),
          endTimeUnixNano: nanos(s.endMs),
          attributes: Object.entries(s.attributes).map(([key, v]) => ({ key, value: value(v) })),
          status: s.error ? { code: 2, message: s.error } : { code: 1 },
        })),
      },
    ],
  };
}
