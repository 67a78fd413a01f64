/**
 * The event-loop watchdog (KI-09, KI-10, KI-20, KI-21). The predecessor hung for weeks
 * with nobody able to see where: a blocked loop looks exactly like a dead server. This
 * makes every stall visible, with who was running at the time.
 *
 * Two cheap measurements:
 * - `perf_hooks.monitorEventLoopDelay`, sampled inside libuv, for the p50/p99/max figures
 *   in server_diagnostics;
 * - a coarse unref'd interval timer that notices a single stall the moment it ends: its
 *   callback runs late by (almost) exactly the time the loop was blocked.
 *
 * A stall at or past the threshold (DEFAULTS.LOOP_STALL_THRESHOLD_MS) produces a warn
 * log record naming the in-flight operations and their phases, a `second_brain.loop.stalls`
 * count, a `second_brain.loop.blocked` event on every span open at the time, and a
 * `loop.blocked` span covering the stall, linked to those spans.
 */
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import { SpanKind, trace, type Link, type Span } from '@opentelemetry/api';
import { DEFAULTS } from '../config/defaults.ts';
import { testHooksEnabled } from '../config/env.ts';
import { ErrorCode, SbError } from '../errors.ts';
import { logger } from '../logging/logger.ts';
import type { InflightRegistry, InflightSnapshot } from '../runtime/inflight.ts';
import { ATTR_SB_LOOP_BLOCKED_CPU_MS, ATTR_SB_LOOP_BLOCKED_MS, ATTR_SB_LOOP_INFLIGHT, EVENT_SB_LOOP_BLOCKED, SPAN_SB_LOOP_BLOCKED } from './semconv.ts';
import { TRACER_NAME } from './spans.ts';

export interface LoopStall {
  /** When the stall began (ISO 8601). */
  at: string;
  /** How long the loop was blocked, in ms (a lower bound, within one check interval). */
  duration_ms: number;
  /**
   * CPU time the process spent (all its threads) between the last check before the stall
   * and the one that saw it, in ms. Near duration_ms: the loop was busy computing; far
   * below it: the thread waited (a synchronous system call or lock, or the process was
   * not scheduled on a busy machine).
   */
  cpu_ms: number;
  /** What was in flight, with phases and ages. */
  inflight: InflightSnapshot[];
}

export interface LoopWatchdogSnapshot {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Stalls at or past the threshold since start. */
  stalls: number;
  last_stall?: LoopStall;
  [k: string]: unknown;
}

export interface LoopWatchdogOptions {
  /** A stall at least this long is reported. Default DEFAULTS.LOOP_STALL_THRESHOLD_MS (200). */
  thresholdMs?: number;
  /** Where in-flight operations and phases come from. */
  registry?: InflightRegistry;
  /** The spans open right now (from ActiveSpanTracker). */
  activeSpans?: () => Span[];
  /** Called after each reported stall (metrics, profiler). */
  onStall?: (stall: LoopStall) => void;
  /** Called on each quiet check (the profiler's window rotation). */
  onQuietTick?: () => void;
}

const HISTOGRAM_RESOLUTION_MS = DEFAULTS.LOOP_HISTOGRAM_RESOLUTION_MS;
const HISTOGRAM_WINDOW_MS = DEFAULTS.LOOP_HISTOGRAM_WINDOW_MS;
const NS_PER_MS = 1e6;

function round1(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 10) / 10 : 0;
}

export class LoopWatchdog {
  readonly thresholdMs: number;
  /** How often the stall timer checks, ms: threshold/8, between 10 and 100. */
  readonly checkIntervalMs: number;
  readonly #o: LoopWatchdogOptions;
  readonly #h: ELDHistogram;
  #previous: { p50_ms: number; p99_ms: number; max_ms: number } | undefined;
  #windowStart = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastTick = 0;
  #lastCpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  #stalls = 0;
  #last: LoopStall | undefined;

  constructor(options: LoopWatchdogOptions = {}) {
    this.#o = options;
    this.thresholdMs = options.thresholdMs ?? DEFAULTS.LOOP_STALL_THRESHOLD_MS;
    this.checkIntervalMs = Math.min(100, Math.max(10, Math.round(this.thresholdMs / 8)));
    this.#h = monitorEventLoopDelay({ resolution: HISTOGRAM_RESOLUTION_MS });
  }

  get running(): boolean { return this.#timer !== undefined; }

  start(): this {
    if (this.#timer) return this;
    this.#h.enable();
    this.#windowStart = performance.now();
    this.#lastTick = performance.now();
    this.#lastCpu = process.cpuUsage();
    this.#timer = setInterval(() => this.#check(), this.checkIntervalMs);
    // The watchdog observes; it must never keep the process alive.
    this.#timer.unref();
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#h.disable();
  }

  /** Figures for server_diagnostics. */
  snapshot(): LoopWatchdogSnapshot {
    const figures = this.#liveFigures() ?? this.#previous ?? { p50_ms: 0, p99_ms: 0, max_ms: 0 };
    return { ...figures, stalls: this.#stalls, ...(this.#last ? { last_stall: this.#last } : {}) };
  }

  #liveFigures(): { p50_ms: number; p99_ms: number; max_ms: number } | undefined {
    if (this.#h.count === 0) return undefined;
    return {
      p50_ms: round1(this.#h.percentile(50) / NS_PER_MS),
      p99_ms: round1(this.#h.percentile(99) / NS_PER_MS),
      max_ms: round1(this.#h.max / NS_PER_MS),
    };
  }

  #check(): void {
    const now = performance.now();
    // The callback was due checkIntervalMs after the previous one; anything beyond is loop time lost.
    const lagMs = now - this.#lastTick - this.checkIntervalMs;
    this.#lastTick = now;
    // A few hundred ns per check (one getrusage call).
    const cpuSince = process.cpuUsage(this.#lastCpu);
    this.#lastCpu = process.cpuUsage();
    if (now - this.#windowStart >= HISTOGRAM_WINDOW_MS && this.#h.count > 0) {
      this.#previous = this.#liveFigures();
      this.#h.reset();
      this.#windowStart = now;
    }
    if (lagMs >= this.thresholdMs) this.#report(Math.round(lagMs), Math.round((cpuSince.user + cpuSince.system) / 1000));
    else this.#o.onQuietTick?.();
  }

  #report(durationMs: number, cpuMs: number): void {
    const startedAt = Date.now() - durationMs;
    const inflight = this.#o.registry?.snapshot() ?? [];
    const stall: LoopStall = { at: new Date(startedAt).toISOString(), duration_ms: durationMs, cpu_ms: cpuMs, inflight };
    this.#stalls++;
    this.#last = stall;
    const names = inflight.map((c) => `${c.tool}:${c.phase}`);
    try {
      const list = inflight.length
        ? inflight.map((c) => `${c.tool} (phase ${c.phase}, ${c.age_ms} ms old)`).join(', ')
        : 'nothing registered';
      logger().warn({ event: 'loop.blocked', duration_ms: durationMs, cpu_ms: cpuMs, inflight }, `event loop blocked for ${durationMs} ms (process CPU ${cpuMs} ms meanwhile); in flight: ${list}`);
    } catch {
      // Reporting must never throw out of a timer.
    }
    const attributes = { [ATTR_SB_LOOP_BLOCKED_MS]: durationMs, [ATTR_SB_LOOP_BLOCKED_CPU_MS]: cpuMs, [ATTR_SB_LOOP_INFLIGHT]: names };
    const links: Link[] = [];
    for (const span of this.#o.activeSpans?.() ?? []) {
      if (!span.isRecording()) continue;
      // Spans started after the stall (by the code that ran right after it, before this
      // timer) were not held up by it. startedAt is an upper bound of the stall's start.
      const start = (span as { startTime?: [number, number] }).startTime;
      if (start && start[0] * 1e3 + start[1] / 1e6 > startedAt) continue;
      span.addEvent(EVENT_SB_LOOP_BLOCKED, attributes, startedAt);
      if (links.length < 32) links.push({ context: span.spanContext() });
    }
    // A span of its own, so the stall shows on a timeline even when nothing was traced.
    const blocked = trace.getTracer(TRACER_NAME).startSpan(SPAN_SB_LOOP_BLOCKED, { kind: SpanKind.INTERNAL, startTime: startedAt, attributes, links, root: true });
    blocked.end();
    this.#o.onStall?.(stall);
  }
}

/**
 * Test hook: blocks the event loop for `ms` with a busy wait, to prove the watchdog (and
 * the KI scenarios) see a stall. Refuses to run unless SECOND_BRAIN_TEST_HOOKS=1.
 */
export function testBlockLoop(ms: number): void {
  if (!testHooksEnabled()) {
    throw new SbError(ErrorCode.CONFIG, 'Failed to block the event loop: testBlockLoop is a test hook. Set SECOND_BRAIN_TEST_HOOKS=1 to enable it.');
  }
  const end = performance.now() + ms;
  while (performance.now() < end) { /* busy wait: this is the point */ }
}
