import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { FakeLink } from './fake-link.ts';
import { describeMatch, journalPredicate } from './journal-match.ts';
import type { JournalMatch } from './journal-match.ts';
import { nowMs, sleep } from './clock.ts';
import { PingSampler } from './ping-sampler.ts';
import type { PingSamplerOptions } from './ping-sampler.ts';
import { sampleProcess } from './proc-stats.ts';
import { schedOf, waitBetween } from '../reference/run-queue.ts';
import { ServerProcess } from './server-process.ts';
import type { StartServerOptions } from './server-process.ts';
import { newSpanId, traceparent } from './trace-context.ts';
import type { CallRecord, Mark, ProcessSample } from './types.ts';

/**
 * The scenario driver: owns the server process (and its restarts), the ping sampler,
 * every tool call with its progress and cancellation, and the timeline marks. It knows
 * MCP and the fake's control API, and nothing of the server's internals.
 */

/** When to cancel a call: after a time, when the fake's journal shows a request, or on a progress message. */
export type CancelTrigger =
  | { afterMs: number }
  | { when: JournalMatch; delayMs?: number; timeoutMs?: number }
  | { onProgress: { count?: number; messageMatches?: string } };

export interface CallSpec {
  id?: string;
  tool: string;
  args: Record<string, unknown>;
  /** Client request timeout. Default 60 000 ms, as MCP clients use. */
  timeoutMs?: number;
  /** Progress notifications reset the client timeout (KI-06). Default false. */
  resetTimeoutOnProgress?: boolean;
  maxTotalTimeoutMs?: number;
  /** The deadline the scenario expects the call to end by. Default `timeoutMs`. */
  deadlineMs?: number;
  cancel?: CancelTrigger;
}

/** A span the harness itself records (the scenario root, one per call), exported with the server's. */
export interface HarnessSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: 'internal' | 'client';
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean>;
  error?: string;
}

export interface DriverOptions {
  server: Omit<StartServerOptions, 'generation'>;
  fake?: FakeLink;
  /** Runs after each restart, before calls resume (e.g. to re-link an in-process fake). */
  onRestart?: (server: ServerProcess) => Promise<void>;
  /** Runs before a kill (e.g. to fetch the in-process journal while it still exists). */
  beforeKill?: (server: ServerProcess) => Promise<void>;
  /** Parent for every call's `_meta.traceparent`; no tracing when absent. */
  trace?: { traceId: string; parentSpanId: string };
  ping?: PingSamplerOptions;
}

export const DEFAULT_CALL_TIMEOUT_MS = 60_000;
const MAX_TEXT_CHARS = 20_000;

export interface RunningCall {
  readonly record: CallRecord;
  done: Promise<CallRecord>;
  /** Cancels now (the SDK sends `notifications/cancelled`). */
  cancel(trigger: string): void;
}

export class Driver {
  readonly calls: CallRecord[] = [];
  readonly marks: Mark[] = [];
  readonly processSamples: ProcessSample[] = [];
  readonly diagnostics: Array<{ atMs: number; label: string; data: Record<string, unknown> | null; error?: string }> = [];
  readonly spans: HarnessSpan[] = [];
  readonly pings: PingSampler;
  /** Unexpected exits of a server process (a crash, not a kill the scenario asked for). */
  readonly crashes: Array<{ atMs: number; generation: number; stderrTail: string }> = [];
  /** Every server process started, oldest first. */
  readonly servers: ServerProcess[] = [];
  readonly #options: DriverOptions;
  readonly #running = new Set<RunningCall>();
  readonly #stopAll = new AbortController();
  #server: ServerProcess | null = null;
  #callSeq = 0;

  constructor(options: DriverOptions) {
    this.#options = options;
    this.pings = new PingSampler(options.ping);
  }

  get server(): ServerProcess {
    if (!this.#server) throw new Error('The server is not running: call start() first.');
    return this.#server;
  }

  get fake(): FakeLink | undefined {
    return this.#options.fake;
  }

  mark(label: string, kind: Mark['kind'] = 'note'): void {
    this.marks.push({ atMs: nowMs(), label, kind });
  }

  async start(): Promise<ServerProcess> {
    const server = await ServerProcess.start({ ...this.#options.server, generation: this.servers.length });
    this.#adopt(server);
    this.pings.start();
    return server;
  }

  #adopt(server: ServerProcess): void {
    this.#server = server;
    this.servers.push(server);
    this.pings.setClient(server.client, server.pid);
    void server.closed.then(() => {
      if (server.unexpectedExitAtMs !== null) {
        this.crashes.push({ atMs: server.unexpectedExitAtMs, generation: server.generation, stderrTail: server.stderrText().slice(-2_000) });
        this.mark(`server ${server.generation} exited unexpectedly`, 'restart');
      }
    });
  }

  /** Kills the server with `signal` (SIGKILL by default) and starts it again with the same state dir. */
  async restart(signal: NodeJS.Signals = 'SIGKILL'): Promise<ServerProcess> {
    const old = this.server;
    this.pings.pause();
    await this.#options.beforeKill?.(old).catch(() => {});
    this.mark(`${signal} server ${old.generation}`, 'restart');
    await old.kill(signal);
    const server = await ServerProcess.start({ ...this.#options.server, generation: this.servers.length });
    this.#adopt(server);
    await this.#options.onRestart?.(server);
    this.mark(`server ${server.generation} started`, 'restart');
    this.pings.resume();
    return server;
  }

  /** Starts a call and returns at once; `done` settles when it ends (never rejects). */
  startCall(spec: CallSpec): RunningCall {
    const server = this.server;
    const id = spec.id ?? `call-${++this.#callSeq}`;
    const timeoutMs = spec.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const spanId = newSpanId();
    const record: CallRecord = {
      id,
      tool: spec.tool,
      args: spec.args,
      generation: server.generation,
      startMs: nowMs(),
      endMs: null,
      outcome: 'pending',
      text: '',
      progress: [],
      deadlineMs: spec.deadlineMs ?? timeoutMs,
      ...(this.#options.trace ? { traceId: this.#options.trace.traceId } : {}),
    };
    this.calls.push(record);
    const schedAtStart = schedOf(server.pid);
    const controller = new AbortController();
    let cancelledBy: string | null = null;
    const cancel = (trigger: string) => {
      if (record.endMs !== null || controller.signal.aborted) return;
      cancelledBy = trigger;
      record.cancel = { atMs: nowMs(), trigger };
      this.mark(`cancel ${id}: ${trigger}`, 'cancel');
      controller.abort(new Error(`cancelled by the scenario (${trigger})`));
    };
    const onStopAll = () => controller.abort(new Error('scenario ended'));
    this.#stopAll.signal.addEventListener('abort', onStopAll, { once: true });
    const trigger = spec.cancel ? this.#armCancel(spec.cancel, record, cancel, controller.signal) : undefined;
    const meta = this.#options.trace ? { traceparent: traceparent({ traceId: this.#options.trace.traceId, spanId }) } : undefined;
    const running: RunningCall = { record, done: Promise.resolve(record), cancel };

    running.done = (async (): Promise<CallRecord> => {
      try {
        const result = await server.client.callTool({ name: spec.tool, arguments: spec.args, ...(meta ? { _meta: meta } : {}) }, undefined, {
          signal: controller.signal,
          timeout: timeoutMs,
          resetTimeoutOnProgress: spec.resetTimeoutOnProgress ?? false,
          ...(spec.maxTotalTimeoutMs !== undefined ? { maxTotalTimeout: spec.maxTotalTimeoutMs } : {}),
          onprogress: (p) => {
            record.progress.push({ atMs: nowMs(), progress: p.progress, ...(p.total !== undefined ? { total: p.total } : {}), ...(p.message !== undefined ? { message: p.message } : {}) });
          },
        });
        record.outcome = result.isError ? 'error' : 'success';
        record.text = textOf(result.content);
        if (result.structuredContent) record.structured = result.structuredContent as Record<string, unknown>;
      } catch (error) {
        if (cancelledBy !== null) record.outcome = 'cancelled';
        else if (this.#stopAll.signal.aborted) record.outcome = 'pending';
        else if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) record.outcome = 'timeout';
        else if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) record.outcome = 'disconnected';
        else if (!server.alive) record.outcome = 'disconnected';
        else record.outcome = 'error';
        if (error instanceof McpError) record.errorCode = error.code;
        record.text = String((error as Error)?.message ?? error).slice(0, MAX_TEXT_CHARS);
      } finally {
        if (record.outcome !== 'pending') record.endMs = nowMs();
        const cpuWait = waitBetween(schedAtStart, schedOf(server.pid));
        if (cpuWait !== null) record.serverCpuWaitMs = cpuWait;
        this.#stopAll.signal.removeEventListener('abort', onStopAll);
        trigger?.abort();
        this.#running.delete(running);
        if (this.#options.trace) {
          this.spans.push({
            traceId: this.#options.trace.traceId,
            spanId,
            parentSpanId: this.#options.trace.parentSpanId,
            name: `call ${spec.tool}`,
            kind: 'client',
            startMs: record.startMs,
            endMs: record.endMs ?? nowMs(),
            attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': spec.tool, 'chaos.call.id': id, 'chaos.call.outcome': record.outcome },
            ...(record.outcome === 'success' ? {} : { error: record.outcome }),
          });
        }
      }
      return record;
    })();
    this.#running.add(running);
    return running;
  }

  /** Runs a call to its end. */
  call(spec: CallSpec): Promise<CallRecord> {
    return this.startCall(spec).done;
  }

  #armCancel(trigger: CancelTrigger, record: CallRecord, cancel: (why: string) => void, callSignal: AbortSignal): AbortController {
    const disarm = new AbortController();
    const signal = AbortSignal.any([disarm.signal, callSignal]);
    if ('afterMs' in trigger) {
      sleep(trigger.afterMs, signal).then(() => cancel(`after ${trigger.afterMs} ms`), () => {});
    } else if ('when' in trigger) {
      const fake = this.#options.fake;
      if (!fake) throw new Error(`Call ${record.id}: a journal cancel trigger needs the fake API, and this run has none.`);
      const what = describeMatch(trigger.when);
      fake
        .waitFor(journalPredicate(trigger.when, record.startMs), trigger.timeoutMs ?? 30_000, signal)
        .then(async () => {
          if (trigger.delayMs) await sleep(trigger.delayMs, signal);
          cancel(`${what}${trigger.delayMs ? ` + ${trigger.delayMs} ms` : ''}`);
        })
        .catch(() => {
          if (!signal.aborted) this.mark(`cancel trigger for ${record.id} never fired: ${what}`, 'note');
        });
    } else {
      const { count = 1, messageMatches } = trigger.onProgress;
      const re = messageMatches ? new RegExp(messageMatches, 'i') : null;
      const timer = setInterval(() => {
        const hits = record.progress.filter((p) => !re || re.test(p.message ?? '')).length;
        if (hits >= count) {
          clearInterval(timer);
          cancel(`progress #${count}${messageMatches ? ` matching /${messageMatches}/` : ''}`);
        }
      }, 5);
      timer.unref();
      signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    }
    return disarm;
  }

  /** Calls `server_diagnostics` and keeps its structured content (null when the server has no such tool). */
  async snapshotDiagnostics(label: string): Promise<Record<string, unknown> | null> {
    const atMs = nowMs();
    try {
      const result = await this.server.client.callTool({ name: 'server_diagnostics', arguments: {} }, undefined, { timeout: 5_000 });
      const data = result.isError ? null : ((result.structuredContent as Record<string, unknown> | undefined) ?? parseJson(textOf(result.content)));
      this.diagnostics.push({ atMs, label, data, ...(result.isError ? { error: textOf(result.content) } : {}) });
      return data;
    } catch (error) {
      this.diagnostics.push({ atMs, label, data: null, error: String((error as Error)?.message ?? error) });
      return null;
    }
  }

  /** Records open descriptors and RSS of the current server process. */
  async sampleProcess(label: string): Promise<ProcessSample> {
    const server = this.server;
    const stats = await sampleProcess(server.pid);
    const sample: ProcessSample = { atMs: nowMs(), generation: server.generation, pid: server.pid, ...stats, label };
    this.processSamples.push(sample);
    return sample;
  }

  /** Calls still running. */
  get running(): RunningCall[] {
    return [...this.#running];
  }

  /** Waits for every running call, up to `timeoutMs`; returns those still running after it. */
  async settle(timeoutMs: number): Promise<RunningCall[]> {
    const all = Promise.all(this.running.map((r) => r.done));
    const timer = new AbortController();
    await Promise.race([all, sleep(timeoutMs, timer.signal).catch(() => {})]);
    timer.abort();
    return this.running;
  }

  /** Stops sampling, abandons calls still running (they stay `pending`), and closes the server gracefully. */
  async stop(): Promise<void> {
    await this.pings.stop();
    this.#stopAll.abort();
    await Promise.all(this.running.map((r) => r.done));
    if (this.#server) {
      this.#server.drainStderr();
      await this.#server.close();
    }
  }
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .map((c: { type?: string; text?: string }) => (c?.type === 'text' ? (c.text ?? '') : `[${c?.type ?? 'unknown'}]`))
    .join('\n')
    .slice(0, MAX_TEXT_CHARS);
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
