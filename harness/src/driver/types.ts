/**
 * What the driver records while a scenario runs. Probes read only these records (and the
 * fake's journal), never the live driver, so a report can be re-evaluated from JSON.
 * All times are wall-clock ms (see clock.ts).
 */

/** One MCP `ping` round trip. */
export interface PingSample {
  /** When the ping was sent. */
  atMs: number;
  /** Round trip; for a ping that never came back, the time waited until giving up. */
  rttMs: number;
  /** True when the ping failed or timed out. */
  failed: boolean;
  /**
   * How long the pinged process's event-loop thread waited for a CPU during the round
   * trip (`reference/run-queue.ts`), ms: the machine's share of it. Absent where the
   * kernel does not say or no pid was given.
   */
  cpuWaitMs?: number;
}

/** One progress notification received for a call. */
export interface ProgressEvent {
  atMs: number;
  progress: number;
  total?: number;
  message?: string;
}

/**
 * How a call ended:
 * - `success`: a result without `isError`;
 * - `error`: a tool error (`isError`) or an MCP protocol error from the server;
 * - `cancelled`: the driver cancelled it (the SDK sent `notifications/cancelled`);
 * - `timeout`: the client's request timeout fired first;
 * - `disconnected`: the connection closed (the server died or was killed);
 * - `pending`: it had not ended when the scenario finished.
 */
export type CallOutcome = 'success' | 'error' | 'cancelled' | 'timeout' | 'disconnected' | 'pending';

export interface CallRecord {
  /** The step's id, or a generated `call-N`. */
  id: string;
  tool: string;
  args: Record<string, unknown>;
  /** Which server process (0 = first start, 1 = after the first restart, …). */
  generation: number;
  startMs: number;
  endMs: number | null;
  outcome: CallOutcome;
  /** The text content of the result or the error message. */
  text: string;
  /** `structuredContent` of the result, when there was one. */
  structured?: Record<string, unknown>;
  /** MCP error code for protocol errors. */
  errorCode?: number;
  progress: ProgressEvent[];
  /** When the driver cancelled it, and why (the trigger that fired). */
  cancel?: { atMs: number; trigger: string };
  /** The deadline the scenario expects this call to end by, ms after `startMs`. */
  deadlineMs: number;
  /** W3C trace id sent in `_meta.traceparent`, when tracing was on. */
  traceId?: string;
  /**
   * How long the server's main thread was ready to run but waited for a CPU during the
   * call, ms (the machine's share of its wall time; `reference/run-queue.ts`). Absent
   * where the kernel does not say, or when the server process changed in between.
   */
  serverCpuWaitMs?: number;
}

/** A named instant on the scenario's timeline (step boundaries, restarts, fault changes). */
export interface Mark {
  atMs: number;
  label: string;
  kind: 'step' | 'restart' | 'fault' | 'account' | 'cancel' | 'phase' | 'note';
}

/** A sample of the server process from /proc. */
export interface ProcessSample {
  atMs: number;
  generation: number;
  pid: number;
  openFds: number | null;
  rssBytes: number | null;
  /** Why it was taken: `baseline`, `after repeat 3`, `end`. */
  label: string;
}
