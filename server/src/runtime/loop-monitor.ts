/**
 * A cheap event-loop delay monitor for server_diagnostics when no telemetry watchdog runs.
 * monitorEventLoopDelay samples in libuv at the given resolution with negligible overhead.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

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
