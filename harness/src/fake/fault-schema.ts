import { z } from 'zod';
import { assertRoutePattern } from './routes.ts';
import type { FaultRule } from './fault-types.ts';

/**
 * Eager validation of fault rules, shared by the programmatic API and the JSON config
 * of the preload, so a misspelt route or fault type fails at once with a message that
 * names the field.
 */

const ms = z.number().finite().min(0);

const distribution = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('uniform'), minMs: ms, maxMs: ms }),
  z.strictObject({ kind: z.literal('exponential'), meanMs: ms, maxMs: ms.optional() }),
  z.strictObject({ kind: z.literal('normal'), meanMs: ms, stdDevMs: ms }),
  z.strictObject({ kind: z.literal('choice'), valuesMs: z.array(ms).min(1) }),
]);

const httpStatus = z.number().int().min(100).max(599);

export const faultSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('latency'), ms: ms.optional(), jitterMs: ms.optional(), distribution: distribution.optional() }),
  z.strictObject({ type: z.literal('degrade'), multiplier: z.number().finite().min(0) }),
  z.strictObject({ type: z.literal('hang') }),
  z.strictObject({ type: z.literal('stall-after-headers'), status: httpStatus.optional() }),
  z.strictObject({ type: z.literal('drip'), intervalMs: ms, chunkBytes: z.number().int().min(1).optional() }),
  z.strictObject({
    type: z.literal('truncate'),
    afterEvents: z.number().int().min(0).optional(),
    afterBytes: z.number().int().min(0).optional(),
    mode: z.enum(['close', 'error']).optional(),
  }),
  z.strictObject({ type: z.literal('network-error'), afterHandler: z.boolean().optional() }),
  z.strictObject({
    type: z.literal('status'),
    status: httpStatus,
    code: z.string().nullable().optional(),
    message: z.string().optional(),
    errorType: z.string().optional(),
    param: z.string().nullable().optional(),
  }),
  z.strictObject({
    type: z.literal('rate-limit'),
    retryAfterS: ms.optional(),
    retryAfterMs: ms.optional(),
    code: z.enum(['rate_limit_exceeded', 'insufficient_quota']).optional(),
    omitRetryAfter: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('malformed-json'), status: httpStatus.optional() }),
  z.strictObject({ type: z.literal('html'), status: httpStatus.optional() }),
  z.strictObject({ type: z.literal('previous-not-found') }),
  z.strictObject({ type: z.literal('store-limit') }),
  z.strictObject({ type: z.literal('batch-stuck') }),
  z.strictObject({
    type: z.literal('file-status'),
    status: z.enum(['failed', 'cancelled']),
    fileIndexes: z.array(z.number().int().min(0)).optional(),
    fileNames: z.array(z.string()).optional(),
    code: z.enum(['server_error', 'unsupported_file', 'invalid_file']).optional(),
  }),
  z.strictObject({ type: z.literal('file-processing'), ms }),
  z.strictObject({
    type: z.literal('background'),
    queuedMs: ms.optional(),
    inProgressMs: ms.optional(),
    final: z.enum(['completed', 'failed', 'incomplete', 'cancelled']).optional(),
  }),
  z.strictObject({ type: z.literal('usage'), inputTokens: z.number().int().optional(), outputTokens: z.number().int().optional() }),
]);

const routePattern = z.string().superRefine((value, ctx) => {
  try {
    assertRoutePattern(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const callNumber = z.number().int().min(1);

export const faultRuleSchema = z.strictObject({
  route: z.union([routePattern, z.array(routePattern).min(1)]),
  calls: z
    .union([z.array(callNumber), z.strictObject({ from: callNumber.optional(), to: callNumber.optional() }), z.literal('all')])
    .optional(),
  times: z.number().int().min(1).optional(),
  match: z
    .strictObject({ model: z.string().optional(), fileName: z.string().optional(), keyLast4: z.string().optional() })
    .optional(),
  fault: faultSchema,
});

/** Validates one rule; throws a `TypeError` naming the offending field. */
export function parseFaultRule(input: unknown): FaultRule {
  const result = faultRuleSchema.safeParse(input);
  if (!result.success) {
    throw new TypeError(`Invalid fault rule: ${z.prettifyError(result.error)}`);
  }
  return result.data as FaultRule;
}
