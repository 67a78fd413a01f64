import type { Evidence } from './evidence.ts';
import { info, judged } from './measurement.ts';
import type { Measurement } from './measurement.ts';

/**
 * The "nothing lost" rule (KI-13, KI-14, KI-15): session continuity, provider-side store
 * and file counts back to their baseline, no store of another owner deleted, and every
 * session that got an answer still listed at the end.
 */
export interface DataBounds {
  /** Follow-ups on OpenAI models must carry the previous response id. */
  sessionContinuity?: boolean;
  /** Stores and files at the end may exceed the baseline by at most this. Unset: not checked. */
  maxStoresAboveBaseline?: number;
  maxFilesAboveBaseline?: number;
  reason?: string;
}

/** Tools whose follow-ups go through the Responses API with `previous_response_id`. */
const RESPONSES_TOOLS = /^chat_with_(o3|o3_pro|gpt41)$/;
/** Metadata owner this server writes on its stores; anything else belongs to someone else. */
const OWN_STORE_OWNER = 'second-brain';

export function dataProbe(ev: Evidence, bounds: DataBounds = {}, common = true): Measurement[] {
  const out: Measurement[] = [];
  if (bounds.sessionContinuity) {
    const followUps = expectedFollowUps(ev);
    const carried = ev.journal.filter((e) => e.route === 'responses.create' && e.previousResponseId && e.status !== null && e.status < 400);
    const known = new Set((ev.stateAfter?.responses ?? []).map((r) => r.id));
    const dangling = carried.filter((e) => ev.stateAfter && !known.has(e.previousResponseId!)).length;
    out.push(
      judged('data', 'follow-ups sent with the previous response id', carried.length, 'count', { op: '>=', value: followUps }, { note: `${followUps} follow-up call(s) succeeded` }),
      info('data', 'follow-ups naming an unknown response', dangling, 'count'),
    );
  }
  if (ev.stateBefore && ev.stateAfter) {
    const before = ev.stateBefore;
    const after = ev.stateAfter;
    const foreign = before.vectorStores.filter((s) => s.metadata?.owner !== OWN_STORE_OWNER);
    const survivors = new Set(after.vectorStores.map((s) => s.id));
    const lost = foreign.filter((s) => !survivors.has(s.id));
    if (common || foreign.length) {
      out.push(judged('data', 'foreign stores deleted', lost.length, 'count', { op: '==', value: 0 }, { note: `${foreign.length} store(s) of other owners at the start` }));
    }
    const storeDelta = after.vectorStores.length - before.vectorStores.length;
    const fileDelta = after.files.length - before.files.length;
    out.push(
      bounds.maxStoresAboveBaseline !== undefined
        ? judged('data', 'stores above baseline', storeDelta, 'count', { op: '<=', value: bounds.maxStoresAboveBaseline }, { note: `${before.vectorStores.length} → ${after.vectorStores.length}` })
        : info('data', 'stores above baseline', storeDelta, 'count', `${before.vectorStores.length} → ${after.vectorStores.length}`),
      bounds.maxFilesAboveBaseline !== undefined
        ? judged('data', 'files above baseline', fileDelta, 'count', { op: '<=', value: bounds.maxFilesAboveBaseline }, { note: `${before.files.length} → ${after.files.length}` })
        : info('data', 'files above baseline', fileDelta, 'count', `${before.files.length} → ${after.files.length}`),
    );
  }
  if (ev.sessionsAtEnd) {
    const answered = new Set(ev.calls.filter((c) => c.outcome === 'success' && typeof c.args.session_id === 'string' && c.tool.startsWith('chat_with_')).map((c) => String(c.args.session_id)));
    const listed = new Set(ev.sessionsAtEnd);
    const missing = [...answered].filter((s) => !listed.has(s));
    out.push(judged('data', 'answered sessions missing at the end', missing.length, 'count', { op: '==', value: 0 }, { note: missing.length ? missing.join(', ') : `${answered.size} session(s) answered` }));
  }
  return out;
}

/** Successful calls on Responses-API tools that followed an earlier successful call in the same session. */
function expectedFollowUps(ev: Evidence): number {
  const seen = new Set<string>();
  let n = 0;
  for (const c of [...ev.calls].sort((a, b) => a.startMs - b.startMs)) {
    if (!RESPONSES_TOOLS.test(c.tool) || c.outcome !== 'success') continue;
    const session = String(c.args.session_id ?? '');
    if (seen.has(session)) n += 1;
    seen.add(session);
  }
  return n;
}
