import type { Bound, Measurement } from '../probes/measurement.ts';
import { meets } from '../probes/measurement.ts';

/**
 * Judging a latency against the machine: pure functions from the server's figure and
 * the reference process's figure over the same window to a verdict. The server is held
 * to the catalogue's bound on its *excess* over the reference (what it cost beyond what
 * a process doing nothing cost at the same moment); when the reference alone is over the
 * busy limit, the noise is as large as the stalls the bound is there to catch, and a
 * figure that would fail is "not judged" rather than failed.
 */

/** What the reference process showed over one window. Times are wall-clock ms. */
export interface ReferenceFigures {
  startMs: number;
  endMs: number;
  /** Ping round trips sampled in the window. */
  pings: number;
  pingMaxMs: number | null;
  pingP99Ms: number | null;
  pingP50Ms: number | null;
  /**
   * The reference's own event-loop delay (monitorEventLoopDelay) over the window. Node's
   * histogram counts the whole timer interval, so an idle loop shows about its resolution.
   */
  loopMaxMs: number | null;
  loopP99Ms: number | null;
  /** The histogram's resolution: subtracted to get a stall comparable to a ping's. Default 0. */
  loopResolutionMs?: number;
}

/** `server - reference`, never below 0; the server's own figure when there is no reference figure. */
export function excessOver(server: number | null, reference: number | null): number | null {
  if (server === null) return null;
  if (reference === null || !Number.isFinite(reference)) return server;
  if (!Number.isFinite(server)) return server;
  return Math.max(0, server - reference);
}

/** The machine's worst stall in the window, as the reference saw it: its ping max or its loop-delay max. */
export function machineStallMs(ref: ReferenceFigures | null | undefined): number | null {
  if (!ref) return null;
  const figures = [ref.pingMaxMs, loopStallMs(ref)].filter((v): v is number => v !== null && Number.isFinite(v));
  return figures.length ? Math.max(...figures) : null;
}

/** The reference's loop-delay max beyond its histogram's resolution (what a stall added). */
export function loopStallMs(ref: ReferenceFigures): number | null {
  return ref.loopMaxMs === null ? null : Math.max(0, ref.loopMaxMs - (ref.loopResolutionMs ?? 0));
}

/**
 * Why the machine was too busy to judge this window, or null when it was not: the
 * reference's own ping max or loop-delay max over `limitMs`.
 */
export function busyReason(ref: ReferenceFigures | null | undefined, limitMs: number): string | null {
  if (!ref) return null;
  const parts: string[] = [];
  if (ref.pingMaxMs !== null && ref.pingMaxMs > limitMs) parts.push(`reference ping max ${ref.pingMaxMs.toFixed(1)} ms > limit ${limitMs} ms`);
  const stall = loopStallMs(ref);
  if (stall !== null && stall > limitMs) parts.push(`reference event-loop stall ${stall.toFixed(1)} ms > limit ${limitMs} ms`);
  return parts.length ? parts.join(', ') : null;
}

export type JudgedVerdict = 'pass' | 'fail' | 'not-judged';

/**
 * The verdict on a latency: its excess over the reference against the bound.
 * - A pass is a pass however busy the machine was: beyond the noise, the server stayed
 *   within the bound.
 * - A miss on a quiet machine (reference within its busy limit) is a failure.
 * - A miss on a busy machine is a failure only when it stays a miss with the noise
 *   counted once more (`excess - reference` still misses the bound): the largest of two
 *   noisy figures can differ by up to the noise itself, but a stall (a blocked loop, a
 *   request that never ended) stands out by more than that. Otherwise "not judged".
 */
export function verdictOnExcess(excess: number | null, bound: Bound, busy: string | null, reference: number | null = null): JudgedVerdict {
  if (excess === null) return busy ? 'not-judged' : 'fail';
  if (meets(excess, bound)) return 'pass';
  if (!busy) return 'fail';
  const beyondNoise = reference !== null && Number.isFinite(reference) ? excess - reference : excess;
  return meets(beyondNoise, bound) ? 'not-judged' : 'fail';
}

/**
 * A latency measurement judged on its excess over the reference. The measurement's
 * `value` is the excess (what the bound applies to); `serverValue` and `referenceValue`
 * keep the absolute figures for the report.
 */
export function judgedAgainstReference(
  probe: string,
  metric: string,
  server: number | null,
  reference: { value: number | null; what: string; busy: string | null } | null,
  bound: Bound,
  extra: { scaled?: boolean; note?: string } = {},
): Measurement {
  if (!reference) {
    // No reference ran (it could not start): the absolute figure, as before.
    const verdict = server === null ? 'fail' : meets(server, bound) ? 'pass' : 'fail';
    return { probe, metric, value: server, unit: 'ms', bound, verdict, ...(extra.scaled ? { scaled: true } : {}), note: [extra.note, 'no reference process: judged on the absolute figure'].filter(Boolean).join('; ') };
  }
  const excess = excessOver(server, reference.value);
  const verdict = verdictOnExcess(excess, bound, reference.busy, reference.value);
  const fmt = (v: number | null) => (v === null ? '—' : Number.isFinite(v) ? `${v.toFixed(1)} ms` : '∞');
  const notes = [
    `excess over the reference: server ${fmt(server)} − ${reference.what} ${fmt(reference.value)}`,
    ...(verdict === 'not-judged' ? [`not judged (machine too busy: ${reference.busy})`] : []),
    ...(verdict === 'fail' && reference.busy ? [`failed although the machine was busy (${reference.busy}): the excess misses the bound by more than the reference's own figure`] : []),
    ...(extra.note ? [extra.note] : []),
  ];
  return {
    probe,
    metric,
    value: excess,
    unit: 'ms',
    bound,
    verdict,
    serverValue: server,
    referenceValue: reference.value,
    ...(extra.scaled ? { scaled: true } : {}),
    note: notes.join('; '),
  };
}

/** The reference's side of a judgement, as the probes take it. */
export interface ReferenceSide {
  value: number | null;
  what: string;
  busy: string | null;
}

/** What the probes get from a run's evidence: the reference figures and the busy limit, or nothing (no reference ran). */
export interface ReferenceEvidence {
  figures: ReferenceFigures;
  busyLimitMs: number;
}

/**
 * For the server's ping max: the reference's worst stall, its ping max or its own
 * event-loop max, whichever is larger. Pings are 50 ms apart, so the reference's pings
 * can miss a stall its loop histogram saw (measured: reference ping max 13 ms with its
 * loop max 52 ms over a 1.6 s run, while a trivial toy server's ping max was 129 ms).
 */
export function referencePing(ref: ReferenceEvidence | undefined): ReferenceSide | null {
  if (!ref) return null;
  return { value: machineStallMs(ref.figures), what: 'reference stall (max of its ping and event-loop max)', busy: busyReason(ref.figures, ref.busyLimitMs) };
}

/** The machine's worst stall over the run, for latencies that are not pings (cancel → abort, progress gaps, call durations). */
export function referenceStall(ref: ReferenceEvidence | undefined): ReferenceSide | null {
  if (!ref) return null;
  return { value: machineStallMs(ref.figures), what: 'reference stall (max of its ping and event-loop max)', busy: busyReason(ref.figures, ref.busyLimitMs) };
}

/**
 * A call's duration judged on the server's own time: its wall time less what the
 * server's event-loop thread waited for a CPU meanwhile (`serverCpuWaitMs`, read from
 * the kernel's run-queue figures). That wait is time the machine withheld the CPU from a
 * server that had work to do; a server that blocks (a synchronous write, a lock) sleeps
 * and is not counted, so a blocked or slow server still misses its bound. Where the
 * kernel gives no figure, the wall time is judged as it is.
 */
export function judgedOnOwnTime(probe: string, metric: string, wallMs: number | null, cpuWaitMs: number | undefined, bound: Bound, extra: { scaled?: boolean; note?: string } = {}): Measurement {
  const scaled = extra.scaled ? { scaled: true } : {};
  if (wallMs === null || cpuWaitMs === undefined) {
    const note = [extra.note, wallMs === null ? undefined : 'no run-queue figure: judged on the wall time'].filter(Boolean).join('; ');
    const verdict = wallMs !== null && meets(wallMs, bound) ? 'pass' : 'fail';
    return { probe, metric, value: wallMs, unit: 'ms', bound, verdict, ...scaled, ...(note ? { note } : {}) };
  }
  const own = Math.max(0, wallMs - cpuWaitMs);
  const note = [`wall ${wallMs.toFixed(1)} ms less ${cpuWaitMs.toFixed(1)} ms the server's event loop waited for a CPU (the machine's share)`, extra.note].filter(Boolean).join('; ');
  return { probe, metric, value: own, unit: 'ms', bound, verdict: meets(own, bound) ? 'pass' : 'fail', serverValue: wallMs, cpuWaitMs, ...scaled, note };
}
