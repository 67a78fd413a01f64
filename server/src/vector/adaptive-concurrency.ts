/**
 * Upload concurrency that adapts to the provider (KI-17, KI-22): additive increase while
 * requests succeed quickly, multiplicative decrease on a 429 or when latency climbs well
 * above its healthy baseline. The old server fired every upload at once; this one starts
 * at a configured level and never exceeds `max`.
 *
 * Slots are handed out FIFO. A waiter whose signal aborts leaves the queue at once and
 * never takes a slot, so nothing starts after a cancel (KI-03). Every acquire returns a
 * release function that must be called exactly once; a second call is ignored, so a
 * slot cannot leak or be freed twice (KI-02).
 */
import { Semaphore } from '../runtime/semaphore.ts';
import { defectOn } from '../config/test-defects.ts';
import { DEFAULTS } from '../config/defaults.ts';

export type SlotOutcome =
  | { kind: 'ok'; latencyMs: number }
  | { kind: 'rate_limited' }
  | { kind: 'error' }
  | { kind: 'aborted' }
  /** The slot was given back unused. */
  | { kind: 'unused' };

export type ReleaseSlot = (outcome: SlotOutcome) => void;

export interface AdaptiveConcurrencyOptions {
  /** Starting level (DEFAULTS.UPLOAD_CONCURRENCY_START). */
  start: number;
  min: number;
  max: number;
  /** Recent latency above this multiple of the long-run latency counts as congestion. Default 2. */
  latencyFactor?: number;
  /** ...and only when it is at least this many ms above it. Default 50 ms. */
  latencyMinExcessMs?: number;
  /**
   * The server's recent event-loop delay in ms (`runtime/loop-monitor.ts` RecentLoopLag).
   * When the loop itself lags, the process is the bottleneck: more uploads at once add no
   * throughput and lengthen every loop turn, so every other request waits (KI-01, KI-12).
   */
  loopLagMs?: () => number;
  /** At this loop delay the level stops growing; at twice it, it shrinks. Default DEFAULTS.UPLOAD_LOOP_LAG_HOLD_MS. */
  loopLagHoldMs?: number;
  /** Called when the integer level changes (diagnostics, events). */
  onChange?: (from: number, to: number, reason: ChangeReason) => void;
}

export type ChangeReason = 'increase' | 'rate_limited' | 'latency' | 'loop_lag';
/** Why a healthy upload did not grow the level: the server's own loop lagged, or the provider's remaining requests were low. */
export type HoldReason = 'loop_lag' | 'headroom';

/** Samples needed before the latency rule may shrink the level. */
const MIN_LATENCY_SAMPLES = 5;

export class AdaptiveConcurrency {
  readonly min: number;
  readonly max: number;
  readonly #latencyFactor: number;
  readonly #latencyMinExcessMs: number;
  readonly #onChange?: AdaptiveConcurrencyOptions['onChange'];
  readonly #loopLagMs?: () => number;
  readonly #loopLagHoldMs: number;
  #level: number;
  /** The slots, limited by the current level (read whenever a slot could be granted). */
  readonly #slots = new Semaphore(() => this.level);
  /** Slots acquired before this moment do not shrink the level again (one decrease per congestion event). */
  #lastDecreaseAt = 0;
  #shortMs: number | undefined;
  #longMs: number | undefined;
  #samples = 0;
  #headroom: number | undefined;
  /** Level changes since construction, by reason (cumulative counters, read by diagnostics). */
  readonly #changes: Record<ChangeReason, number> = { increase: 0, rate_limited: 0, latency: 0, loop_lag: 0 };
  /** Healthy uploads that did not grow the level, by what held it (cumulative counters). */
  readonly #held: Record<HoldReason, number> = { loop_lag: 0, headroom: 0 };

  constructor(options: AdaptiveConcurrencyOptions) {
    const { start, min, max } = options;
    if (!(min >= 1 && max >= min && start >= min && start <= max)) {
      throw new RangeError(`Upload concurrency needs 1 <= min <= start <= max; got min=${min} start=${start} max=${max}.`);
    }
    this.min = min;
    this.max = max;
    this.#level = start;
    this.#latencyFactor = options.latencyFactor ?? 2;
    this.#latencyMinExcessMs = options.latencyMinExcessMs ?? 50;
    this.#onChange = options.onChange;
    this.#loopLagMs = options.loopLagMs;
    this.#loopLagHoldMs = options.loopLagHoldMs ?? DEFAULTS.UPLOAD_LOOP_LAG_HOLD_MS;
  }

  /** The current level (integer number of uploads allowed at once). */
  get level(): number { return Math.floor(this.#level); }
  get inFlight(): number { return this.#slots.inUse; }
  /** Largest number of slots held at once since construction. */
  get maxInFlight(): number { return this.#slots.maxInUse; }
  get waiting(): number { return this.#slots.waiting; }
  get headroom(): number | undefined { return this.#headroom; }
  /** How many times the integer level changed, by reason, since construction. */
  get changes(): Readonly<Record<ChangeReason, number>> { return { ...this.#changes }; }
  /** How many healthy uploads left the level where it was, by what held it, since construction. */
  get held(): Readonly<Record<HoldReason, number>> { return { ...this.#held }; }

  /** Latest `x-ratelimit-remaining-requests`; a low value stops growth before the 429 comes. */
  noteHeadroom(remaining: number | undefined): void {
    if (remaining !== undefined) this.#headroom = remaining;
  }

  /** Waits for a slot. Rejects with SB_ERR_CANCELLED at once when `signal` aborts. */
  async acquire(signal: AbortSignal): Promise<ReleaseSlot> {
    await this.#slots.acquire(signal);
    const acquiredAt = performance.now();
    let released = false;
    return (outcome) => {
      if (released) return;
      released = true;
      this.#adjust(outcome, acquiredAt);
      this.#slots.release();
    };
  }

  #set(next: number, reason: ChangeReason): void {
    const before = this.level;
    this.#level = Math.min(this.max, Math.max(this.min, next));
    if (this.level === before) return;
    this.#changes[reason]++;
    this.#onChange?.(before, this.level, reason);
  }

  /** Shrinks by a quarter, once per congestion event: slots acquired before the last decrease do not shrink it again. */
  #decrease(acquiredAt: number, reason: 'latency' | 'loop_lag'): void {
    if (acquiredAt < this.#lastDecreaseAt) return;
    this.#lastDecreaseAt = performance.now();
    this.#set(this.#level * 0.75, reason);
  }

  #adjust(outcome: SlotOutcome, acquiredAt: number): void {
    // Test-only defect (KI-22): a fixed level, as the first version's fixed parallel batches.
    if (defectOn('upload-concurrency-fixed')) return;
    switch (outcome.kind) {
      case 'rate_limited':
        // Every request in flight during a burst gets its 429; shrink once per burst.
        if (acquiredAt >= this.#lastDecreaseAt) {
          this.#lastDecreaseAt = performance.now();
          this.#set(this.#level / 2, 'rate_limited');
        }
        return;
      case 'ok': {
        const ms = outcome.latencyMs;
        this.#samples++;
        if (this.#longMs === undefined || this.#shortMs === undefined) {
          this.#longMs = ms;
          this.#shortMs = ms;
          return;
        }
        // Two averages: a recent one and a slow one. Congestion is the recent latency well
        // above the long-run one, by a factor and by an absolute margin, so jitter of a few
        // ms (or a busy event loop) does not read as the provider slowing down.
        this.#shortMs += 0.3 * (ms - this.#shortMs);
        const congested = this.#samples > MIN_LATENCY_SAMPLES &&
          this.#shortMs > this.#longMs * this.#latencyFactor && this.#shortMs - this.#longMs > this.#latencyMinExcessMs;
        // The long-run average follows slowly, so a lasting slowdown becomes the new normal
        // instead of pinning the level at min.
        this.#longMs += 0.02 * (ms - this.#longMs);
        if (congested) {
          this.#decrease(acquiredAt, 'latency');
          return;
        }
        const lag = this.#loopLagMs?.() ?? 0;
        if (lag >= 2 * this.#loopLagHoldMs) {
          this.#decrease(acquiredAt, 'loop_lag');
          return;
        }
        if (lag >= this.#loopLagHoldMs) {
          this.#held.loop_lag++;
          return;
        }
        // Do not grow into a limit the provider says is nearly used up.
        if (this.#headroom !== undefined && this.#headroom <= this.level) {
          this.#held.headroom++;
          return;
        }
        this.#set(this.#level + 1 / Math.max(1, this.#level), 'increase');
        return;
      }
      default:
        return;
    }
  }
}
