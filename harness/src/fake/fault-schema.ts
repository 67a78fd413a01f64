import { z } from 'zod';
import { assertRoutePattern } from './routes.ts';
import type { RoutePattern } from './routes.ts';

/**
 * The fault vocabulary, as schemas: each fault reproduces one way a provider misbehaves;
 * the catalogue entries (KI-xx) name the ones they need. The types in `fault-types.ts`
 * are derived from these schemas, so the two cannot drift. Validation is eager, shared
 * by the programmatic API and the JSON config of the preload, so a misspelt route or
 * fault type fails at once with a message that names the field.
 */

const ms = z.number().finite().min(0);

/** A latency distribution sampled from the fault's own seeded PRNG. */
export const distributionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('uniform'), minMs: ms, maxMs: ms }),
  z.strictObject({ kind: z.literal('exponential'), meanMs: ms, maxMs: ms.optional() }),
  z.strictObject({ kind: z.literal('normal'), meanMs: ms, stdDevMs: ms }),
  z.strictObject({ kind: z.literal('choice'), valuesMs: z.array(ms).min(1) }),
]);

const httpStatus = z.number().int().min(100).max(599);

export const faultSchema = z.discriminatedUnion('type', [
  /** Delay before the response: `ms` plus uniform `[0, jitterMs)`, or a distribution. */
  z.strictObject({ type: z.literal('latency'), ms: ms.optional(), jitterMs: ms.optional(), distribution: distributionSchema.optional() }),
  /** Multiplies every latency applied to the matched calls (a degraded upstream). */
  z.strictObject({ type: z.literal('degrade'), multiplier: z.number().finite().min(0) }),
  /** Never answers; ends only when the client aborts (KI-02, KI-05). */
  z.strictObject({ type: z.literal('hang') }),
  /** Sends status and headers, then no body until the client aborts (KI-05). */
  z.strictObject({ type: z.literal('stall-after-headers'), status: httpStatus.optional() }),
  /** Sends the real body `chunkBytes` at a time, every `intervalMs`. */
  z.strictObject({ type: z.literal('drip'), intervalMs: ms, chunkBytes: z.number().int().min(1).optional() }),
  /**
   * Cuts the real body after `afterEvents` SSE events or `afterBytes` bytes; `close`
   * ends it cleanly (no terminal event), `error` breaks the connection.
   */
  z.strictObject({
    type: z.literal('truncate'),
    afterEvents: z.number().int().min(0).optional(),
    afterBytes: z.number().int().min(0).optional(),
    mode: z.enum(['close', 'error']).optional(),
  }),
  /**
   * The connection fails (`Response.error()`). With `afterHandler`, the request still
   * takes effect upstream and only the answer is lost (an orphan-making failure).
   */
  z.strictObject({ type: z.literal('network-error'), afterHandler: z.boolean().optional() }),
  /** A provider-shaped error with this status (5xx default code `server_error`). */
  z.strictObject({
    type: z.literal('status'),
    status: httpStatus,
    code: z.string().nullable().optional(),
    message: z.string().optional(),
    errorType: z.string().optional(),
    param: z.string().nullable().optional(),
  }),
  /** 429 with `retry-after` (s) and/or `retry-after-ms`; `insufficient_quota` never recovers. */
  z.strictObject({
    type: z.literal('rate-limit'),
    retryAfterS: ms.optional(),
    retryAfterMs: ms.optional(),
    code: z.enum(['rate_limit_exceeded', 'insufficient_quota']).optional(),
    omitRetryAfter: z.boolean().optional(),
  }),
  /** A truncated JSON body with a JSON content type. */
  z.strictObject({ type: z.literal('malformed-json'), status: httpStatus.optional() }),
  /** An HTML page, as from a proxy or load balancer in front of the API. */
  z.strictObject({ type: z.literal('html'), status: httpStatus.optional() }),
  /** `responses.create`: answer 404 for the `previous_response_id`, known or not (KI-15). */
  z.strictObject({ type: z.literal('previous-not-found') }),
  /** `vector_stores.create`: the project's store limit is reached (KI-13). */
  z.strictObject({ type: z.literal('store-limit') }),
  /** File batch or store-file attach: never leaves `in_progress` (KI-19). */
  z.strictObject({ type: z.literal('batch-stuck') }),
  /**
   * File batch or store-file attach: the selected files end `failed` or `cancelled`.
   * Select by 0-based position in the request (`fileIndexes`) or by upload file name;
   * with neither, every file.
   */
  z.strictObject({
    type: z.literal('file-status'),
    status: z.enum(['failed', 'cancelled']),
    fileIndexes: z.array(z.number().int().min(0)).optional(),
    fileNames: z.array(z.string()).optional(),
    code: z.enum(['server_error', 'unsupported_file', 'invalid_file']).optional(),
  }),
  /** File batch or store-file attach: files stay `in_progress` for `ms`. */
  z.strictObject({ type: z.literal('file-processing'), ms }),
  /** `responses.create` with `background: true`: override the status schedule (KI-06). */
  z.strictObject({
    type: z.literal('background'),
    queuedMs: ms.optional(),
    inProgressMs: ms.optional(),
    final: z.enum(['completed', 'failed', 'incomplete', 'cancelled']).optional(),
  }),
  /**
   * `chat.*`: the answer stops early with this `finish_reason` and its text cut to the
   * first half of its words (`emptyContent`: `content: null`, as a blocked answer may be).
   */
  z.strictObject({ type: z.literal('finish'), reason: z.enum(['length', 'content_filter']), emptyContent: z.boolean().optional() }),
  /** `responses.create`, `chat.*`: report these token counts (negative or absurd ones included) instead of the estimate. */
  z.strictObject({ type: z.literal('usage'), inputTokens: z.number().int().optional(), outputTokens: z.number().int().optional() }),
]);

/** Route id, `'*'`, `'prefix.*'` (see routes.ts). */
const routePattern = z.string().superRefine((value, ctx) => {
  try {
    assertRoutePattern(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const callNumber = z.number().int().min(1);
export const callSelectorSchema = z.union([z.array(callNumber), z.strictObject({ from: callNumber.optional(), to: callNumber.optional() }), z.literal('all')]);

export const faultRuleSchema = z.strictObject({
  // Checked by assertRoutePattern, then typed as patterns (outside the union: a union
  // whose members transform reports only "Invalid input", losing the route's message).
  route: z.union([routePattern, z.array(routePattern).min(1)]).transform((value) => value as RoutePattern | RoutePattern[]),
  /** Which calls of a rule get the fault, counted 1-based over the requests the rule matched. Default `'all'`. */
  calls: callSelectorSchema.optional(),
  /** Stop applying after this many applications. Default: unlimited. */
  times: z.number().int().min(1).optional(),
  /** Narrow the rule to requests with these key fields. */
  match: z
    .strictObject({ model: z.string().optional(), fileName: z.string().optional(), keyLast4: z.string().optional() })
    .optional(),
  fault: faultSchema,
});

/** Validates one rule; throws a `TypeError` naming the offending field. */
export function parseFaultRule(input: unknown): z.output<typeof faultRuleSchema> {
  const result = faultRuleSchema.safeParse(input);
  if (!result.success) {
    throw new TypeError(`Invalid fault rule: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}
