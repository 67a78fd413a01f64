import type { RoutePattern } from './routes.ts';

/**
 * The fault vocabulary. Each fault reproduces one way a provider misbehaves; the
 * catalogue entries (KI-xx) name the ones they need.
 */

/** A latency distribution sampled from the fault's own seeded PRNG. */
export type LatencyDistribution =
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'exponential'; meanMs: number; maxMs?: number }
  | { kind: 'normal'; meanMs: number; stdDevMs: number }
  | { kind: 'choice'; valuesMs: number[] };

export type Fault =
  /** Delay before the response: `ms` plus uniform `[0, jitterMs)`, or a distribution. */
  | { type: 'latency'; ms?: number; jitterMs?: number; distribution?: LatencyDistribution }
  /** Multiplies every latency applied to the matched calls (a degraded upstream). */
  | { type: 'degrade'; multiplier: number }
  /** Never answers; ends only when the client aborts (KI-02, KI-05). */
  | { type: 'hang' }
  /** Sends status and headers, then no body until the client aborts (KI-05). */
  | { type: 'stall-after-headers'; status?: number }
  /** Sends the real body `chunkBytes` at a time, every `intervalMs`. */
  | { type: 'drip'; intervalMs: number; chunkBytes?: number }
  /**
   * Cuts the real body after `afterEvents` SSE events or `afterBytes` bytes; `close`
   * ends it cleanly (no terminal event), `error` breaks the connection.
   */
  | { type: 'truncate'; afterEvents?: number; afterBytes?: number; mode?: 'close' | 'error' }
  /**
   * The connection fails (`Response.error()`). With `afterHandler`, the request still
   * takes effect upstream and only the answer is lost (an orphan-making failure).
   */
  | { type: 'network-error'; afterHandler?: boolean }
  /** A provider-shaped error with this status (5xx default code `server_error`). */
  | { type: 'status'; status: number; code?: string | null; message?: string; errorType?: string; param?: string | null }
  /** 429 with `retry-after` (s) and/or `retry-after-ms`; `insufficient_quota` never recovers. */
  | { type: 'rate-limit'; retryAfterS?: number; retryAfterMs?: number; code?: 'rate_limit_exceeded' | 'insufficient_quota'; omitRetryAfter?: boolean }
  /** A truncated JSON body with a JSON content type. */
  | { type: 'malformed-json'; status?: number }
  /** An HTML page, as from a proxy or load balancer in front of the API. */
  | { type: 'html'; status?: number }
  /** `responses.create`: answer 404 for the `previous_response_id`, known or not (KI-15). */
  | { type: 'previous-not-found' }
  /** `vector_stores.create`: the project's store limit is reached (KI-13). */
  | { type: 'store-limit' }
  /** File batch or store-file attach: never leaves `in_progress` (KI-19). */
  | { type: 'batch-stuck' }
  /**
   * File batch or store-file attach: the selected files end `failed` or `cancelled`.
   * Select by 0-based position in the request (`fileIndexes`) or by upload file name;
   * with neither, every file.
   */
  | {
      type: 'file-status';
      status: 'failed' | 'cancelled';
      fileIndexes?: number[];
      fileNames?: string[];
      code?: 'server_error' | 'unsupported_file' | 'invalid_file';
    }
  /** File batch or store-file attach: files stay `in_progress` for `ms`. */
  | { type: 'file-processing'; ms: number }
  /** `responses.create` with `background: true`: override the status schedule (KI-06). */
  | {
      type: 'background';
      queuedMs?: number;
      inProgressMs?: number;
      final?: 'completed' | 'failed' | 'incomplete' | 'cancelled';
    }
  /** `responses.create`, `chat.*`: report these token counts (negative or absurd ones included) instead of the estimate. */
  | { type: 'usage'; inputTokens?: number; outputTokens?: number };

export type FaultType = Fault['type'];

/** Which calls of a rule get the fault, counted 1-based over the requests the rule matched. */
export type CallSelector = number[] | { from?: number; to?: number } | 'all';

export interface FaultRule {
  /** Route id, `'*'`, `'prefix.*'`, or a list of them (see routes.ts). */
  route: RoutePattern | RoutePattern[];
  /** Default `'all'`. */
  calls?: CallSelector;
  /** Stop applying after this many applications. Default: unlimited. */
  times?: number;
  /** Narrow the rule to requests with these key fields. */
  match?: { model?: string; fileName?: string; keyLast4?: string };
  fault: Fault;
}

/** Faults that shape the body after the handler produced it. */
export const BODY_FAULTS = ['stall-after-headers', 'drip', 'truncate'] as const;
/** Faults that replace the handler's response. */
export const RESPONSE_FAULTS = ['network-error', 'status', 'rate-limit', 'malformed-json', 'html'] as const;
/** Faults that a route handler reads to change provider-side behaviour. */
export const BEHAVIOUR_FAULTS = [
  'previous-not-found',
  'store-limit',
  'batch-stuck',
  'file-status',
  'file-processing',
  'background',
  'usage',
] as const;
