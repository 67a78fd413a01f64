import type { MirroredEntry } from '../driver/fake-link.ts';
import type { CallRecord } from '../driver/types.ts';
import type { Evidence } from './evidence.ts';
import { info, judged } from './measurement.ts';
import type { Measurement } from './measurement.ts';
import { judgedAgainstReference, referenceStall } from '../reference/judging.ts';

/**
 * Cancellation reached upstream (KI-03, KI-05): for each call the scenario cancelled,
 * every upstream request open at that moment was aborted within the bound, the
 * upstream cancel calls were made, and no new upstream work for it started afterwards.
 */
export interface CancellationBounds {
  /** Client cancel → the fake sees the request aborted. Default <= 50 ms. */
  maxLatencyMs?: number;
  /** Upstream requests started after the cancel (cleanup routes excepted). Default == 0. */
  maxRequestsAfter?: number;
  /** Require `POST /responses/{id}/cancel` after the cancel (a background response). */
  expectResponseCancel?: boolean;
  /** Require `POST …/file_batches/{id}/cancel` after the cancel (an unfinished batch). */
  expectBatchCancel?: boolean;
  /** Require at least one upstream request open at the cancel. Default true. */
  expectOpenRequest?: boolean;
  reason?: string;
}

export const DEFAULT_CANCEL_LATENCY_MS = 50;

/** Requests a correct server makes after a cancel, to clean up. */
export const CLEANUP_ROUTES = new Set([
  'responses.cancel',
  'responses.delete',
  'vector_stores.file_batches.cancel',
  'vector_stores.delete',
  'vector_stores.files.delete',
  'files.delete',
]);

export function cancellationProbe(ev: Evidence, bounds: CancellationBounds = {}): Measurement[] {
  const cancelled = ev.calls.filter((c) => c.cancel);
  if (cancelled.length === 0) return [judged('cancellation', 'calls cancelled', 0, 'count', { op: '>=', value: 1 }, { note: 'the scenario asked for a cancellation probe but cancelled no call' })];
  const out: Measurement[] = [];
  for (const call of cancelled) out.push(...probeOne(ev, call, bounds));
  return out;
}

function probeOne(ev: Evidence, call: CallRecord, bounds: CancellationBounds): Measurement[] {
  const at = call.cancel!.atMs;
  const label = `${call.id}`;
  // Journal wall times have 1 ms resolution; the slack keeps same-millisecond events in.
  const open = ev.journal.filter((e) => e.startWallMs >= Math.floor(call.startMs) - 1 && e.startWallMs <= at + 1 && (e.endWallMs === null || e.endWallMs >= Math.floor(at)));
  const latencies = open.map((e) => closedAt(e) - at);
  const unaborted = open.filter((e) => e.endWallMs === null);
  const worst = latencies.length ? Math.max(...latencies) : null;
  const windowEnd = nextWorkAfter(ev, call);
  const after = ev.journal.filter((e) => e.startWallMs > at + 1 && e.startWallMs < windowEnd && !CLEANUP_ROUTES.has(e.route));
  const cleanup = ev.journal.filter((e) => e.startWallMs > at - 1 && e.startWallMs < windowEnd);
  const note = bounds.reason;
  const out: Measurement[] = [
    (bounds.expectOpenRequest ?? true)
      ? judged('cancellation', `${label}: upstream requests open at cancel`, open.length, 'count', { op: '>=', value: 1 }, { note: `trigger: ${call.cancel!.trigger}` })
      : info('cancellation', `${label}: upstream requests open at cancel`, open.length, 'count', `trigger: ${call.cancel!.trigger}`),
    cancelLatency(ev, label, worst === null ? null : Number.isFinite(worst) ? Math.max(0, worst) : Number.POSITIVE_INFINITY, open.length > 0, bounds.maxLatencyMs ?? DEFAULT_CANCEL_LATENCY_MS,
      unaborted.length ? `${unaborted.length} request(s) never ended: ${unaborted.map((e) => `${e.method} ${e.path}`).join(', ')}` : note),
    judged('cancellation', `${label}: upstream requests started after cancel`, after.length, 'count', { op: '<=', value: bounds.maxRequestsAfter ?? 0 }, after.length ? { note: after.map((e) => e.route).join(', ') } : {}),
  ];
  const responseCancels = cleanup.filter((e) => e.route === 'responses.cancel').length;
  const batchCancels = cleanup.filter((e) => e.route === 'vector_stores.file_batches.cancel').length;
  out.push(
    bounds.expectResponseCancel
      ? judged('cancellation', `${label}: upstream response cancels`, responseCancels, 'count', { op: '>=', value: 1 })
      : info('cancellation', `${label}: upstream response cancels`, responseCancels, 'count'),
    bounds.expectBatchCancel
      ? judged('cancellation', `${label}: upstream batch cancels`, batchCancels, 'count', { op: '>=', value: 1 })
      : info('cancellation', `${label}: upstream batch cancels`, batchCancels, 'count'),
  );
  return out;
}

/** Cancel → upstream aborted, judged on its excess over the machine's stall in the run (no request open: skipped). */
function cancelLatency(ev: Evidence, label: string, latency: number | null, anyOpen: boolean, boundMs: number, note: string | undefined): Measurement {
  const metric = `${label}: cancel → upstream aborted`;
  if (latency === null) return judged('cancellation', metric, null, 'ms', { op: '<=', value: boundMs }, { missing: anyOpen ? 'fail' : 'skip', ...(note ? { note } : {}) });
  return judgedAgainstReference('cancellation', metric, latency, referenceStall(ev.reference), { op: '<=', value: boundMs }, { ...(note ? { note } : {}) });
}

/** When the fake saw the request end: aborted, finished, or never (Infinity). */
function closedAt(entry: MirroredEntry): number {
  return entry.abortedAtWallMs ?? entry.endWallMs ?? Number.POSITIVE_INFINITY;
}

/** The end of the window that belongs to a cancelled call: the next call started after the cancel, or the post-scenario checks. */
function nextWorkAfter(ev: Evidence, call: CallRecord): number {
  const at = call.cancel!.atMs;
  const later = ev.calls.filter((c) => c !== call && c.startMs > at).map((c) => c.startMs);
  return Math.min(ev.checksStartMs, ...later);
}
