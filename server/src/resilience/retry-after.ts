/** Reads `retry-after-ms` (ms, float) or `retry-after` (seconds or an HTTP date). No upper cap: the deadline decides. */
export function parseRetryAfterMs(headers: Headers | Record<string, string | undefined> | undefined | null, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const get = (name: string): string | undefined =>
    headers instanceof Headers ? headers.get(name) ?? undefined : (headers)[name];
  const ms = get('retry-after-ms');
  if (ms !== undefined) {
    const v = Number.parseFloat(ms);
    if (Number.isFinite(v) && v >= 0) return Math.ceil(v);
  }
  const ra = get('retry-after');
  if (ra !== undefined) {
    const secs = Number.parseFloat(ra);
    if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs * 1000);
    const date = Date.parse(ra);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  return undefined;
}

/** Reads `x-ratelimit-remaining-requests` as a number, if present. */
export function parseRemainingRequests(headers: Headers | undefined | null): number | undefined {
  const v = headers?.get('x-ratelimit-remaining-requests');
  if (v == null) return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : undefined;
}
