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
/**
 * Environment setting that fixes the hang guards' slowdown factor (a number >= 1)
 * instead of measuring it, e.g. `SB_TEST_PATIENCE=4` on a runner known to be slow.
 */
export const TEST_PATIENCE_ENV = 'SB_TEST_PATIENCE';
/**
 * The most a hang guard is stretched on a busy machine: 5 s becomes at most 25 s. A
 * two-core runner with two busy loops beside the suite ran it about 4 times slower; a
 * larger factor would only make a real hang take longer to report.
 */
export const MAX_PATIENCE_FACTOR = 5;
/**
 * How much more than the measured share of the CPU a guard allows for: the load is read
 * at one moment and the work the guard covers runs after it, when the load may be higher.
 */
export const PATIENCE_MARGIN = 1.5;
