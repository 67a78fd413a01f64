import type { Evidence } from './evidence.ts';
import { judged, round } from './measurement.ts';
import type { Measurement } from './measurement.ts';

/**
 * The "bounded" rule: every tool call ended, with a result or a clear error, before its
 * own deadline. "Clear" means the error says what failed and what to do about it.
 */

/** Says what went wrong. */
const WHAT_FAILED = /fail|could not|cannot|can't|invalid|expected|accepts|timed? ?out|deadline|throttl|rate.?limit|cancel|not found|missing|required|too (large|many|long)|refused|unavailable|limit/i;
/** Says what the user can do. */
const WHAT_TO_DO = /try|retry|set |check|reduce|wait|use |accepts|after|restart|fix|pass |send /i;

export function isClearError(text: string): boolean {
  return text.trim().length >= 20 && WHAT_FAILED.test(text) && WHAT_TO_DO.test(text);
}

export function boundedProbe(ev: Evidence): Measurement[] {
  const calls = ev.calls.filter((c) => c.outcome !== 'cancelled');
  const unended = calls.filter((c) => c.outcome === 'pending' || c.outcome === 'timeout');
  const late = calls.filter((c) => c.endMs !== null && c.endMs - c.startMs > c.deadlineMs);
  const worstOverrun = calls.reduce((m, c) => (c.endMs === null ? m : Math.max(m, c.endMs - c.startMs - c.deadlineMs)), Number.NEGATIVE_INFINITY);
  const unclear = calls.filter((c) => c.outcome === 'error' && !isClearError(c.text));
  return [
    judged('bounded', 'calls that never ended', unended.length, 'count', { op: '==', value: 0 }, unended.length ? { note: unended.map((c) => `${c.id} (${c.outcome})`).join(', ') } : { note: `${calls.length} call(s)` }),
    judged('bounded', 'calls past their deadline', late.length, 'count', { op: '==', value: 0 }, {
      note: late.length ? late.map((c) => `${c.id}: ${Math.round(c.endMs! - c.startMs)} ms > ${c.deadlineMs} ms`).join(', ') : `worst margin ${round(Number.isFinite(worstOverrun) ? -worstOverrun : null, 0)} ms`,
    }),
    judged('bounded', 'unclear errors', unclear.length, 'count', { op: '==', value: 0 }, unclear.length ? { note: unclear.map((c) => `${c.id}: "${c.text.slice(0, 160)}"`).join(' | ') } : {}),
  ];
}
