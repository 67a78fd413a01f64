import type { Evidence } from './evidence.ts';
import { judged } from './measurement.ts';
import type { Measurement } from './measurement.ts';

/**
 * The "alive" rule: the process never exited on its own, and after the scenario a
 * normal tool call (with every fault cleared) still works.
 */
export const ALIVE_CALL_ID = 'alive-check';

export function aliveProbe(ev: Evidence): Measurement[] {
  const check = ev.calls.find((c) => c.id === ALIVE_CALL_ID);
  return [
    judged('alive', 'unexpected server exits', ev.crashes.length, 'count', { op: '==', value: 0 }, ev.crashes.length ? { note: ev.crashes.map((c) => c.stderrTail.split('\n').filter(Boolean).at(-1) ?? 'no stderr').join(' | ').slice(0, 300) } : {}),
    judged('alive', 'normal call after the scenario', check?.outcome === 'success' ? 1 : 0, 'bool', { op: '==', value: 1 }, { note: check ? `${check.tool}: ${check.outcome}${check.outcome === 'success' ? '' : ` — ${check.text.slice(0, 200)}`}` : 'not made' }),
  ];
}
