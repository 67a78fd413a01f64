import type { z } from 'zod';
import type { callSelectorSchema, distributionSchema, faultRuleSchema, faultSchema } from './fault-schema.ts';

/**
 * The fault types, derived from their schemas in `fault-schema.ts` (where each fault is
 * documented), so what the fake accepts and what the code types say cannot drift.
 */
export type LatencyDistribution = z.output<typeof distributionSchema>;
export type Fault = z.output<typeof faultSchema>;
export type FaultType = Fault['type'];
export type CallSelector = z.output<typeof callSelectorSchema>;
/** A rule as written (scenarios, the control API) and as the fake holds it once parsed. */
export type FaultRule = z.output<typeof faultRuleSchema>;
