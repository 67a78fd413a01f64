/**
 * Reading the server's own trace from a `run` step. The server writes spans as OTLP
 * JSON lines to `<home>/telemetry/traces-*.jsonl` when its traces exporter is `file`
 * (scenarios that assert on spans set `OTEL_TRACES_EXPORTER: 'file'`; the harness's
 * OTLP receiver then gets none of them, so the report's waterfall shows only the
 * harness's spans). Spans of a call are found through the harness's call span, which
 * the server's `tools/call` span has as its parent (`_meta.traceparent`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StepContext } from '../../harness/src/runner/step-context.ts';

/** Forces the server's spans into local files the scenario can read (see above). */
export const FILE_TRACES_ENV = { OTEL_TRACES_EXPORTER: 'file' } as const;

export interface ServerSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; atMs: number; attributes: Record<string, unknown> }>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: AnyValue[] } };
type KeyValue = { key: string; value?: AnyValue };
type OtlpSpan = {
  traceId: string; spanId: string; parentSpanId?: string; name: string;
  startTimeUnixNano: string | number; endTimeUnixNano: string | number;
  attributes?: KeyValue[]; events?: Array<{ name: string; timeUnixNano: string | number; attributes?: KeyValue[] }>;
  status?: { code?: number };
};

function value(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

const attrs = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
const ms = (ns: string | number) => Number(BigInt(String(ns)) / 1000n) / 1000;
/** OTLP JSON ids are hex; plain protobuf JSON would carry base64. */
const hex = (id: string | undefined) => (id === undefined || id === '' ? undefined : /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex'));

/** Every span the server has written so far (all processes sharing the home directory). */
export async function readServerSpans(workDir: string): Promise<ServerSpan[]> {
  const dir = join(workDir, 'home', 'telemetry');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('traces') && n.endsWith('.jsonl'));
  const out: ServerSpan[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let req: { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: OtlpSpan[] }> }> };
      try {
        req = JSON.parse(line);
      } catch {
        continue; // a line still being written
      }
      for (const rs of req.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            out.push({
              traceId: hex(s.traceId)!,
              spanId: hex(s.spanId)!,
              parentSpanId: hex(s.parentSpanId),
              name: s.name,
              startMs: ms(s.startTimeUnixNano),
              endMs: ms(s.endTimeUnixNano),
              attributes: attrs(s.attributes),
              events: (s.events ?? []).map((e) => ({ name: e.name, atMs: ms(e.timeUnixNano), attributes: attrs(e.attributes) })),
              status: s.status?.code ?? 0,
            });
          }
        }
      }
    }
  }
  return out;
}

/** The server's `tools/call` span of a call the scenario made, and every span below it. */
export interface CallTrace {
  root: ServerSpan;
  spans: ServerSpan[];
}

function subtree(all: ServerSpan[], root: ServerSpan): ServerSpan[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...all.filter((s) => s.parentSpanId === out[i]!.spanId));
  return out;
}

/**
 * Waits (up to `timeoutMs`: the batch processor exports every 200 ms in chaos runs) until
 * the server's trace of call `callId` has been written, and returns it.
 */
export async function callTrace(ctx: StepContext, callId: string, timeoutMs = 3_000): Promise<CallTrace> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const harnessSpan = ctx.driver.spans.find((s) => s.attributes['chaos.call.id'] === callId);
    if (harnessSpan) {
      const all = await readServerSpans(ctx.workDir);
      const root = all.find((s) => s.parentSpanId === harnessSpan.spanId && s.name.startsWith('tools/call'));
      if (root) return { root, spans: subtree(all, root) };
    }
    if (Date.now() > deadline) {
      throw new Error(`The server's trace of call ${callId} was not written within ${timeoutMs} ms${harnessSpan ? '' : ' (the call has not ended)'}; is OTEL_TRACES_EXPORTER=file set?`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Fails the step unless the server marked the call's span cancelled. */
export async function expectCancelledSpan(ctx: StepContext, callId: string): Promise<void> {
  const { root } = await callTrace(ctx, callId);
  if (root.attributes['second_brain.cancelled'] !== true) {
    throw new Error(`The server's span "${root.name}" of call ${callId} is not marked cancelled (second_brain.cancelled=${String(root.attributes['second_brain.cancelled'])}).`);
  }
  ctx.driver.mark(`${callId}: span marked cancelled (${String(root.attributes['second_brain.cancel.reason'])})`, 'note');
}
