import type { JournalEntry } from '../fake/index.ts';
import { ROUTE_IDS } from '../fake/index.ts';

/**
 * A declarative "the fake saw this" condition, used by cancel triggers and waits:
 * `{route: 'files.create', nth: 3}` is "the third upload request started".
 */
export interface JournalMatch {
  /** A route id, `'*'`, or a prefix ending in `.*` (`'vector_stores.*'`). */
  route: string;
  /** The nth matching request since the trigger was armed (1-based). Default 1. */
  nth?: number;
  /** Which moment of that request: it `started` (default), was `answered` (headers sent), `ended`, or was `aborted`. */
  event?: 'started' | 'answered' | 'ended' | 'aborted';
  provider?: 'openai' | 'xai' | 'gemini';
  model?: string;
}

export function routeMatches(pattern: string, route: string): boolean {
  if (pattern === '*' || pattern === route) return true;
  return pattern.endsWith('.*') && route.startsWith(pattern.slice(0, -1));
}

/** Throws when `pattern` can match no route, naming the accepted ones. */
export function assertRoute(pattern: string): void {
  if ((ROUTE_IDS as readonly string[]).some((r) => routeMatches(pattern, r))) return;
  throw new TypeError(`Unknown route "${pattern}". Use '*', a prefix ending in '.*', or one of: ${ROUTE_IDS.join(', ')}`);
}

export function describeMatch(match: JournalMatch): string {
  const nth = match.nth ?? 1;
  const ordinal = nth === 1 ? 'first' : nth === 2 ? 'second' : nth === 3 ? 'third' : `#${nth}`;
  return `${ordinal} ${match.route}${match.model ? ` (${match.model})` : ''} request ${match.event ?? 'started'}`;
}

/**
 * A stateful predicate: counts distinct matching requests that started at or after
 * `sinceWallMs`, and is true for the nth one once it reached the wanted moment.
 */
export function journalPredicate(match: JournalMatch, sinceWallMs: number): (entry: JournalEntry) => boolean {
  const nth = match.nth ?? 1;
  const seen: number[] = [];
  return (entry) => {
    if (!routeMatches(match.route, entry.route)) return false;
    if (match.provider && entry.provider !== match.provider) return false;
    if (match.model && entry.model !== match.model) return false;
    // Journal wall times are whole ms; allow the same millisecond.
    if (entry.startWallMs < Math.floor(sinceWallMs)) return false;
    if (!seen.includes(entry.id)) {
      seen.push(entry.id);
      seen.sort((a, b) => a - b);
    }
    if (seen.indexOf(entry.id) !== nth - 1) return false;
    switch (match.event ?? 'started') {
      case 'started':
        return true;
      case 'answered':
        return entry.respondedMs !== null;
      case 'ended':
        return entry.endMs !== null;
      case 'aborted':
        return entry.aborted;
    }
  };
}
