/**
 * Vector stores for overflow files: the manager (request path) and the janitor
 * (background cleanup). Everything exported here is public API.
 */
export { VectorStoreManager } from './manager.ts';
export { defaultVectorLimits } from './limits.ts';
export { Janitor } from './janitor.ts';
export type { JanitorOptions, JanitorReport } from './janitor.ts';
export type {
  AttachFile, AttachRequest, AttachResult, AttachStats, OverflowResult, ProgressFn, VectorEvent, VectorLimits, VectorStats,
  VectorStoreManagerOptions,
} from './types.ts';
export type { RateLimitBoard } from '../resilience/throttle-gate.ts';
export { VECTOR_SCHEMA_NAME } from './schema.ts';
