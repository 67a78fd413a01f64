/**
 * Time source of a fake instance. Monotonic time drives every schedule (background
 * responses, file processing, token buckets, throttle windows); wall time only feeds
 * the `created_at`-style fields the real APIs return in seconds.
 */
export interface FakeClock {
  /** Monotonic milliseconds (like `performance.now()`). */
  nowMs(): number;
  /** Wall-clock milliseconds since the epoch (like `Date.now()`). */
  wallMs(): number;
}

/** The real clock: `performance.now()` and `Date.now()`. */
export const systemClock: FakeClock = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
};

/** A clock that only moves when told to, for testing schedules and bucket arithmetic. */
export interface ManualClock extends FakeClock {
  advance(ms: number): void;
  set(nowMs: number): void;
}

/**
 * Creates a manual clock starting at `startMs` (monotonic) and `wallStartMs` (wall).
 *
 * @example
 * const clock = createManualClock();
 * const fake = createFakeApi({ clock });
 * clock.advance(1_000);
 */
export function createManualClock(startMs = 0, wallStartMs = 1_750_000_000_000): ManualClock {
  let now = startMs;
  return {
    nowMs: () => now,
    wallMs: () => wallStartMs + (now - startMs),
    advance(ms: number) {
      if (!(ms >= 0)) throw new RangeError(`advance(ms): ms must be >= 0, got ${ms}`);
      now += ms;
    },
    set(nowMs: number) {
      now = nowMs;
    },
  };
}

/** Seconds since the epoch, as the providers' `created_at` fields carry them. */
export function epochSeconds(clock: FakeClock): number {
  return Math.floor(clock.wallMs() / 1000);
}
