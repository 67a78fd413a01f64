import type { Evidence } from './evidence.ts';
import { info, judged, percentile, round } from './measurement.ts';
import type { Measurement } from './measurement.ts';
import { judgedAgainstReference, referencePing } from '../reference/judging.ts';
import type { PingSample } from '../driver/types.ts';

/**
 * The "responsive" rule: MCP `ping` round trips sampled all through the scenario stay
 * under a bound (100 ms by default), judged on the excess over the reference process; the
 * server's run-queue wait during them is reported beside (`ownRttMs`). A blocked event
 * loop shows here first. The server's own event-loop figures from `server_diagnostics`
 * are reported next to them.
 */
export interface ResponsivenessBounds {
  /** Largest ping round trip allowed. Default < 100 ms. */
  maxPingMs?: number;
  /** p99 bound, when the scenario sets one. */
  p99PingMs?: number;
  /** Bound on the server-reported event-loop delay max, when the scenario sets one. */
  serverLoopMaxMs?: number;
  /** Why a bound differs from the common one (shown in the report). */
  reason?: string;
}

export const DEFAULT_MAX_PING_MS = 100;
/** No sample at all means responsiveness was not measured (a short scenario still gets one). */
const MIN_SAMPLES = 1;

/**
 * A ping's round trip less what the server's event-loop thread waited for a CPU meanwhile
 * (the sample's `cpuWaitMs`, from the kernel's run-queue figures). Reported, not judged:
 * it is the server's own share when its loop did a fixed amount of work, but a loop that
 * spins for a fixed wall time (the `block-loop` toy) waits for a CPU part of that time
 * too, and taking the wait out let that toy pass beside two busy loops (126 ms of a 300 ms
 * block left). The two cannot be told apart from outside, so the judged figure stays the
 * round trip itself, against the reference.
 */
export function ownRttMs(p: PingSample): number {
  return Math.max(0, p.rttMs - (p.cpuWaitMs ?? 0));
}

export function responsivenessProbe(ev: Evidence, bounds: ResponsivenessBounds = {}): Measurement[] {
  const rtts = ev.pings.map((p) => p.rttMs);
  const own = ev.pings.filter((p) => p.cpuWaitMs !== undefined);
  const worst = ev.pings.reduce<PingSample | null>((w, p) => (w === null || p.rttMs > w.rttMs ? p : w), null);
  const note = bounds.reason;
  const ref = referencePing(ev.reference);
  const refP99 = ev.reference ? { ...ref!, value: ev.reference.figures.pingP99Ms, what: 'reference ping p99' } : null;
  // KI-01 "responsive": the bound holds for the server's excess over the reference process
  // in the same window, so a busy machine does not fail the server and a stalled server
  // still fails on a busy machine.
  const out: Measurement[] = [
    judgedAgainstReference('responsive', 'ping max', rtts.length ? Math.max(...rtts) : null, ref, { op: '<', value: bounds.maxPingMs ?? DEFAULT_MAX_PING_MS }, { ...(note ? { note } : {}) }),
    bounds.p99PingMs !== undefined
      ? judgedAgainstReference('responsive', 'ping p99', percentile(rtts, 99), refP99, { op: '<', value: bounds.p99PingMs })
      : info('responsive', 'ping p99', round(percentile(rtts, 99)), 'ms'),
    info('responsive', 'ping p50', round(percentile(rtts, 50)), 'ms'),
    info('responsive', 'ping max less the server’s CPU wait', own.length ? round(Math.max(...own.map(ownRttMs))) : null, 'ms',
      worst?.cpuWaitMs !== undefined ? `the longest round trip (${round(worst.rttMs)} ms) waited ${round(worst.cpuWaitMs)} ms for a CPU in the server's event loop; not judged (see ownRttMs)` : 'no run-queue figure'),
    judged('responsive', 'ping samples', ev.pings.length, 'count', { op: '>=', value: MIN_SAMPLES }),
    judged('responsive', 'pings failed', ev.pings.filter((p) => p.failed).length, 'count', { op: '==', value: 0 }),
  ];
  if (ev.reference) {
    const r = ev.reference.figures;
    out.push(
      info('responsive', 'reference ping max', round(r.pingMaxMs), 'ms', `a Node process doing nothing, pinged the same way over the same window (${r.pings} pings); busy limit ${ev.reference.busyLimitMs} ms`),
      info('responsive', 'reference ping p99', round(r.pingP99Ms), 'ms'),
      info('responsive', 'reference event-loop max', round(r.loopMaxMs), 'ms', 'monitorEventLoopDelay in the reference process'),
    );
  }
  if (ev.harnessLoop) {
    out.push(info('responsive', 'harness event-loop max', round(ev.harnessLoop.maxMs), 'ms', 'the measuring side: ping round trips include this'));
  }
  const loop = lastEventLoop(ev);
  if (loop) {
    out.push(
      bounds.serverLoopMaxMs !== undefined
        ? judged('responsive', 'server event-loop max', round(loop.max_ms ?? null), 'ms', { op: '<', value: bounds.serverLoopMaxMs })
        : info('responsive', 'server event-loop max', round(loop.max_ms ?? null), 'ms', 'as reported by server_diagnostics'),
      info('responsive', 'server event-loop p99', round(loop.p99_ms ?? null), 'ms', 'as reported by server_diagnostics'),
    );
  } else {
    out.push(info('responsive', 'server event-loop max', null, 'ms', 'server_diagnostics reported no event_loop figures'));
  }
  return out;
}

function lastEventLoop(ev: Evidence): { max_ms?: number; p99_ms?: number; p50_ms?: number } | null {
  for (let i = ev.diagnostics.length - 1; i >= 0; i--) {
    const loop = ev.diagnostics[i]!.data?.event_loop as { max_ms?: number; p99_ms?: number } | undefined;
    if (loop && typeof loop === 'object') return loop;
  }
  return null;
}
