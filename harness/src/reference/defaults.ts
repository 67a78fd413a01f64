/**
 * Defaults of the reference process and of judging against it, with their units. One
 * home for them: the chaos runner, the CLI and the unit tests that bound a latency all
 * read these.
 */

/** Gap between the end of one reference ping and the start of the next (same cadence as the server's). */
export const REFERENCE_PING_INTERVAL_MS = 50;
/** Resolution of the reference's own event-loop delay histogram. */
export const REFERENCE_LOOP_RESOLUTION_MS = 10;
/**
 * The machine is too busy to judge a latency bound plainly when the reference (a process
 * doing nothing) itself shows a ping round trip or an event-loop stall longer than this
 * (half the common 100 ms ping bound, the same as the 50 ms loop and cancel bounds): the
 * noise then is as large as the stalls the bounds are there to catch, and a miss counts
 * only when it stands out by more than the noise (see judging.ts).
 */
export const REFERENCE_BUSY_LIMIT_MS = 50;
/** How many times a scenario (or a unit-test measurement) is run before it is reported "not judged". */
export const MAX_JUDGING_ATTEMPTS = 3;
/** When set to `1`/`true`, a run that could never be judged fails instead of being skipped. */
export const STRICT_JUDGING_ENV = 'SB_STRICT_JUDGING';
/** How long the reference may take to start and answer its handshake. */
export const REFERENCE_START_TIMEOUT_MS = 10_000;
