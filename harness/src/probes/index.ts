/** The probes: pure functions from a run's evidence to measurements against bounds. */
export { aliveProbe, ALIVE_CALL_ID } from './alive.ts';
export { boundedProbe, isClearError } from './bounded.ts';
export { callsProbe, progressGap } from './calls.ts';
export type { CallExpectation } from './calls.ts';
export { cancellationProbe, CLEANUP_ROUTES, DEFAULT_CANCEL_LATENCY_MS } from './cancellation.ts';
export type { CancellationBounds } from './cancellation.ts';
export { dataProbe } from './data.ts';
export type { DataBounds } from './data.ts';
export type { Evidence } from './evidence.ts';
export { leaksProbe, DEFAULT_MAX_FD_GROWTH } from './leaks.ts';
export type { LeakBounds } from './leaks.ts';
export { formatBound, info, judged, meets, percentile, round } from './measurement.ts';
export type { Bound, Measurement, Verdict } from './measurement.ts';
export { recoveryProbe } from './recovery.ts';
export type { RecoveryBounds } from './recovery.ts';
export { responsivenessProbe, DEFAULT_MAX_PING_MS } from './responsiveness.ts';
export type { ResponsivenessBounds } from './responsiveness.ts';
export { secretsProbe } from './secrets.ts';
