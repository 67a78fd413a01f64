import type { Evidence } from './evidence.ts';
import { judged } from './measurement.ts';
import type { Measurement } from './measurement.ts';

/**
 * No API key in anything the server emits (conventions: no secret-bearing telemetry):
 * stdout (the JSON-RPC it sent), stderr, what reached the fake (journal and provider
 * state; the journal keeps only a key's last four characters by design), and exported
 * telemetry.
 */
export function secretsProbe(ev: Evidence, sentinels: readonly string[]): Measurement[] {
  const places: Array<[string, string]> = [
    ['stdout', ev.stdout],
    ['stderr', ev.stderr],
    ['journal', JSON.stringify(ev.journal)],
    ['provider state', JSON.stringify(ev.stateAfter ?? {})],
    ['telemetry', ev.telemetry.join('\n')],
  ];
  return places.map(([where, text]) => {
    const hits = sentinels.reduce((n, s) => n + count(text, s), 0);
    return judged('secrets', `API key occurrences in ${where}`, hits, 'count', { op: '==', value: 0 }, { note: `${text.length} chars searched` });
  });
}

function count(haystack: string, needle: string): number {
  if (!needle) return 0;
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n += 1;
  return n;
}
