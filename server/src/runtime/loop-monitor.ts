/**
 * A cheap event-loop delay monitor for server_diagnostics when no telemetry watchdog runs.
 * monitorEventLoopDelay samples in libuv at the given resolution with negligible overhead.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEFAULTS } from '../config/defaults.ts';

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;

export interface LoopStats { p50_ms: number; p99_ms: number; max_ms: number; stalls?: number; [k: string]: unknown }

export class LoopMonitor {
  readonly #h: IntervalHistogram;
  constructor(resolutionMs = 10) {
    this.#h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#h.enable();
  }
  snapshot(): LoopStats {
    const ns = 1e6;
    return {
      p50_ms: round(this.#h.percentile(50) / ns),
      p99_ms: round(this.#h.percentile(99) / ns),
      max_ms: round(this.#h.max / ns),
    };
  }
  reset(): void { this.#h.reset(); }
  close(): void { this.#h.disable(); }
}

function round(n: number): number { return Math.round(n * 10) / 10; }

/**
 * The event loop's delay over the last moments, for work that should back off when the
 * loop lags (upload concurrency). Reads are cheap: the histogram is read and reset at
 * most once per window, and the answer is the larger of the last full window's max and
 * the current one's, so a lag is seen for at least one window after it ends.
 */
export class RecentLoopLag {
  readonly #h: IntervalHistogram;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windowStart: number;
  #lastWindowMaxMs = 0;
  /** `now` is the clock the windows are cut by (ms); tests pass their own. */
  constructor(windowMs: number = DEFAULTS.LOOP_LAG_WINDOW_MS, resolutionMs: number = DEFAULTS.LOOP_LAG_RESOLUTION_MS, now: () => number = () => performance.now()) {
    this.#windowMs = windowMs;
    this.#now = now;
    this.#windowStart = now();
    this.#h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#h.enable();
  }
  /** Largest event-loop delay seen in the current and the previous window, in ms. */
  maxMs(): number {
    const now = this.#now();
    if (now - this.#windowStart >= this.#windowMs) {
      this.#lastWindowMaxMs = this.#h.max / 1e6;
      this.#h.reset();
      this.#windowStart = now;
      return this.#lastWindowMaxMs;
    }
    return Math.max(this.#lastWindowMaxMs, this.#h.max / 1e6);
  }
  close(): void { this.#h.disable(); }
}

let shared: RecentLoopLag | undefined;
/** One sampler per process, started on first use. */
export function sharedLoopLag(): RecentLoopLag {
  shared ??= new RecentLoopLag();
  return shared;
}
