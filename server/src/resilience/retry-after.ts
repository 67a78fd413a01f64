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

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * Google's `RetryInfo.retryDelay` (a protobuf Duration such as `"22s"` or `"0.5s"`) from an
 * error's `details`, in ms: Gemini states its 429 delay there and sends no Retry-After.
 * Takes the SDK error's parsed `error` object.
 */
export function parseRetryInfoMs(error: unknown): number | undefined {
  const details = (error as { details?: unknown } | null | undefined)?.details;
  if (!Array.isArray(details)) return undefined;
  for (const d of details as Array<{ '@type'?: unknown; retryDelay?: unknown } | null>) {
    if (d?.['@type'] !== RETRY_INFO_TYPE || typeof d.retryDelay !== 'string') continue;
    const m = /^(\d+(?:\.\d+)?)s$/.exec(d.retryDelay);
    if (m) return Math.ceil(Number(m[1]) * 1000);
  }
  return undefined;
}
