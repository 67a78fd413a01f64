import type { Evidence } from './evidence.ts';
import { judged } from './measurement.ts';
import type { Measurement } from './measurement.ts';

/**
 * Every request the server sent and every response the fake gave matched the official
 * OpenAI spec (the fake's check journals each departure on the entry; see
 * `harness/src/fake/spec-check.ts`). A scenario fails on any, naming the first fields.
 */
export function specProbe(ev: Evidence): Measurement[] {
  return (['request', 'response'] as const).map((side) => {
    const found = ev.journal.flatMap((e) => (e.specViolations ?? []).filter((v) => v.side === side));
    const note = found.length
      ? found.slice(0, 3).map((v) => `${v.operation}: ${v.field} ${v.message}`).join(' | ')
      : `${ev.journal.length} journalled requests checked`;
    return judged('spec', `${side}s departing from the OpenAI spec`, found.length, 'count', { op: '==', value: 0 }, { note });
  });
}
