import type { CallOutcome, CallRecord } from '../driver/types.ts';
import type { Evidence } from './evidence.ts';
import { info, judged, round } from './measurement.ts';
import type { Measurement } from './measurement.ts';
import { judgedAgainstReference, judgedOnOwnTime, referenceStall } from '../reference/judging.ts';

/**
 * What each call of the scenario should have returned, and progress cadence (KI-06):
 * expectations written next to the call step, judged here.
 */
export interface CallExpectation {
  /** A step id; repeated calls (`id#1`, `id#2`, …) are all held to it. */
  call: string;
  outcome?: CallOutcome | 'success-or-error';
  /** Regular expression (case-insensitive) the result or error text must match. */
  textMatches?: string;
  /** …and must not match. */
  textNotMatches?: string;
  /**
   * Time from start to end, judged on the server's own time: wall time less what the
   * server's event loop waited for a CPU meanwhile (reference/judging.ts `judgedOnOwnTime`).
   */
  maxMs?: number;
  /** Every repeat after the first takes at most this multiple of the first (KI-01). */
  maxRatioToFirst?: number;
  /** Progress: at least this many notifications. */
  minProgress?: number;
  /** Progress: no gap (start → first, between, last → end) longer than this. */
  maxProgressGapMs?: number;
}

export function callsOf(ev: Evidence, id: string): CallRecord[] {
  return ev.calls.filter((c) => c.id === id || c.id.startsWith(`${id}#`));
}

export function callsProbe(ev: Evidence, expectations: readonly CallExpectation[]): Measurement[] {
  const out: Measurement[] = [];
  for (const x of expectations) {
    const calls = callsOf(ev, x.call);
    if (calls.length === 0) {
      out.push(judged('calls', `${x.call}: calls made`, 0, 'count', { op: '>=', value: 1 }));
      continue;
    }
    for (const c of calls) {
      if (x.outcome) {
        const ok = x.outcome === 'success-or-error' ? c.outcome === 'success' || c.outcome === 'error' : c.outcome === x.outcome;
        out.push(judged('calls', `${c.id}: ended ${x.outcome}`, ok ? 1 : 0, 'bool', { op: '==', value: 1 }, { note: `${c.outcome}: ${c.text.slice(0, 200)}` }));
      }
      if (x.textMatches) {
        const ok = new RegExp(x.textMatches, 'i').test(c.text);
        out.push(judged('calls', `${c.id}: text matches /${x.textMatches}/`, ok ? 1 : 0, 'bool', { op: '==', value: 1 }, ok ? {} : { note: c.text.slice(0, 200) }));
      }
      if (x.textNotMatches) {
        const ok = !new RegExp(x.textNotMatches, 'i').test(c.text);
        out.push(judged('calls', `${c.id}: text free of /${x.textNotMatches}/`, ok ? 1 : 0, 'bool', { op: '==', value: 1 }, ok ? {} : { note: c.text.slice(0, 200) }));
      }
      const elapsed = c.endMs === null ? null : round(c.endMs - c.startMs);
      if (x.maxMs !== undefined) out.push(judgedOnOwnTime('calls', `${c.id}: duration`, elapsed, c.serverCpuWaitMs, { op: '<=', value: x.maxMs }, { scaled: true }));
      if (x.minProgress !== undefined) out.push(judged('calls', `${c.id}: progress notifications`, c.progress.length, 'count', { op: '>=', value: x.minProgress }));
      if (x.maxProgressGapMs !== undefined) out.push(judgedAgainstReference('calls', `${c.id}: longest progress gap`, progressGap(c), referenceStall(ev.reference), { op: '<=', value: x.maxProgressGapMs }, { scaled: true }));
    }
    if (x.maxRatioToFirst !== undefined && calls.length > 1) {
      const first = calls[0]!;
      const base = first.endMs === null ? null : first.endMs - first.startMs;
      const worst = calls.slice(1).reduce((m, c) => Math.max(m, c.endMs === null ? Number.POSITIVE_INFINITY : c.endMs - c.startMs), 0);
      out.push(judged('calls', `${x.call}: slowest repeat / first`, base ? worst / base : null, 'ratio', { op: '<=', value: x.maxRatioToFirst }, { note: `first ${round(base)} ms` }));
    } else if (calls.length > 1) {
      out.push(info('calls', `${x.call}: repeats`, calls.length, 'count'));
    }
  }
  return out;
}

/** The longest silence the client saw: call start → first progress, between progress, last progress → end. */
export function progressGap(c: CallRecord): number {
  const times = [c.startMs, ...c.progress.map((p) => p.atMs), c.endMs ?? c.startMs];
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}
