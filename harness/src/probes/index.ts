/** The probes: pure functions from a run's evidence to measurements against bounds. */
export { aliveProbe, ALIVE_CALL_ID } from './alive.ts';
export { boundedProbe, isClearError } from './bounded.ts';
export { callsProbe } from './calls.ts';
export { cancellationProbe } from './cancellation.ts';
export { dataProbe } from './data.ts';
export type { Evidence } from './evidence.ts';
export { leaksProbe } from './leaks.ts';
export { info, judged, percentile } from './measurement.ts';
export type { Measurement } from './measurement.ts';
export { recoveryProbe } from './recovery.ts';
export { responsivenessProbe, DEFAULT_MAX_PING_MS } from './responsiveness.ts';
export { secretsProbe } from './secrets.ts';
export { specProbe } from './spec.ts';
