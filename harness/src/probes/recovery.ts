import type { Evidence } from './evidence.ts';
import { info, judged, round } from './measurement.ts';
import type { Measurement } from './measurement.ts';

/**
 * Recovery from a throttle window (KI-17, KI-18, KI-22): how long after the window ended
 * the first upstream success came, how many requests were sent while it was open (a
 * retry storm shows here), and whether calls that gave up inside it said so clearly.
 */
export interface RecoveryBounds {
  /** End of window → first upstream success. Typically one backoff step. */
  maxRecoveryMs?: number;
  /** Requests sent while a window was open. */
  maxRequestsInWindow?: number;
  /** Errors of calls that ended inside a window must match this (default: names throttling and a time). */
  errorMatches?: string;
  reason?: string;
}

const DEFAULT_ERROR_PATTERN = '(throttl|rate.?limit)[^]*\\d';

export function recoveryProbe(ev: Evidence, bounds: RecoveryBounds = {}): Measurement[] {
  if (ev.throttleWindows.length === 0) {
    return [judged('recovery', 'throttle windows', 0, 'count', { op: '>=', value: 1 }, { note: 'the scenario asked for a recovery probe but opened no throttle window' })];
  }
  const out: Measurement[] = [];
  ev.throttleWindows.forEach((w, i) => {
    const label = ev.throttleWindows.length > 1 ? `window ${i + 1}: ` : '';
    const during = ev.journal.filter((e) => e.startWallMs >= Math.floor(w.startMs) && e.startWallMs < w.endMs);
    const success = ev.journal.find((e) => e.startWallMs >= Math.floor(w.endMs) && e.status !== null && e.status >= 200 && e.status < 300);
    const recovery = success ? Math.max(0, (success.respondedMs !== null ? success.startWallMs + (success.respondedMs - success.startMs) : success.startWallMs) - w.endMs) : null;
    out.push(
      info('recovery', `${label}window length`, round(w.endMs - w.startMs), 'ms', undefined, true),
      bounds.maxRecoveryMs !== undefined
        ? judged('recovery', `${label}window end → first success`, round(recovery), 'ms', { op: '<=', value: bounds.maxRecoveryMs }, { scaled: true, ...(success ? {} : { note: 'no upstream success after the window' }) })
        : info('recovery', `${label}window end → first success`, round(recovery), 'ms', success ? undefined : 'no upstream success after the window', true),
      bounds.maxRequestsInWindow !== undefined
        ? judged('recovery', `${label}requests sent during window`, during.length, 'count', { op: '<=', value: bounds.maxRequestsInWindow })
        : info('recovery', `${label}requests sent during window`, during.length, 'count'),
    );
    const gaveUp = ev.calls.filter((c) => c.endMs !== null && c.endMs >= w.startMs && c.endMs < w.endMs && c.outcome !== 'success' && c.outcome !== 'cancelled');
    const re = new RegExp(bounds.errorMatches ?? DEFAULT_ERROR_PATTERN, 'i');
    const unclear = gaveUp.filter((c) => !re.test(c.text));
    out.push(
      judged('recovery', `${label}unclear errors inside window`, unclear.length, 'count', { op: '==', value: 0 }, unclear.length ? { note: unclear.map((c) => `${c.id}: ${c.text.slice(0, 160)}`).join(' | ') } : gaveUp.length ? { note: gaveUp.map((c) => c.text.slice(0, 160)).join(' | ') } : {}),
    );
  });
  return out;
}
