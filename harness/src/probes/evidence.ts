import type { StateSnapshot } from '../fake/index.ts';
import type { MirroredEntry } from '../driver/fake-link.ts';
import type { CallRecord, Mark, PingSample, ProcessSample } from '../driver/types.ts';
import type { ReferenceEvidence } from '../reference/judging.ts';

/**
 * Everything a scenario run leaves behind, in plain data. Probes are pure functions of
 * it, so a report can be re-judged from `report.json` without re-running anything.
 */
export interface Evidence {
  startMs: number;
  endMs: number;
  calls: CallRecord[];
  pings: PingSample[];
  marks: Mark[];
  /** The fake's journal (empty when the run had no fake). */
  journal: MirroredEntry[];
  /** `server_diagnostics` snapshots. */
  diagnostics: Array<{ atMs: number; label: string; data: Record<string, unknown> | null; error?: string }>;
  processSamples: ProcessSample[];
  crashes: Array<{ atMs: number; generation: number; stderrTail: string }>;
  /** Throttle windows the scenario opened, in wall ms. */
  throttleWindows: Array<{ startMs: number; endMs: number; mode: string }>;
  /** The fake's state after seeding and server start, and at the end. */
  stateBefore: StateSnapshot | null;
  stateAfter: StateSnapshot | null;
  /** What the server wrote: stderr (as captured) and the JSON-RPC it sent on stdout. */
  stderr: string;
  stdout: string;
  /** Raw OTLP bodies the server exported (JSON text), for the secrets probe. */
  telemetry: string[];
  /** Session ids listed by `list_sessions` at the end, or null when the server has no such tool. */
  sessionsAtEnd: string[] | null;
  /** The instant the post-scenario checks (alive call) began. */
  checksStartMs: number;
  /**
   * The harness's own event-loop delay while the scenario ran. Ping round trips include
   * it (the client and a loopback fake live here), so a slow ping with a quiet harness
   * is the server's.
   */
  harnessLoop?: { maxMs: number; p99Ms: number };
  /**
   * The reference process over the same window (a Node process doing nothing but
   * answering pings), and the limit over which the machine is too busy to judge. Latency
   * probes judge the server's excess over it; absent when no reference ran.
   */
  reference?: ReferenceEvidence;
}
