import { nowMs } from './clock.ts';

/**
 * When the measuring process itself was blocked. A ping round trip timed here includes
 * any time this process's own loop could not read the reply (parsing a multi-MB tool
 * result, for one): that time is not the server's. A short interval timer notices each
 * stall as it ends (its callback runs late by the time lost) and keeps the interval, so a
 * round trip can be split into the part this side held up and the rest.
 *
 * Hand-written: monitorEventLoopDelay gives a histogram, not when each stall happened.
 */
export interface Stall { fromMs: number; toMs: number }

export class OwnStalls {
  readonly stalls: Stall[] = [];
  readonly #intervalMs: number;
  readonly #minMs: number;
  #timer: NodeJS.Timeout | undefined;
  #last = 0;

  /** Ticks every `intervalMs`; a callback later than `minMs` past its due time is a stall. */
  constructor(intervalMs = 2, minMs = 3) {
    this.#intervalMs = intervalMs;
    this.#minMs = minMs;
  }

  start(): this {
    if (this.#timer) return this;
    this.#last = nowMs();
    this.#timer = setInterval(() => {
      const now = nowMs();
      const late = now - this.#last - this.#intervalMs;
      if (late >= this.#minMs) this.stalls.push({ fromMs: this.#last + this.#intervalMs, toMs: now });
      this.#last = now;
    }, this.#intervalMs);
    this.#timer.unref();
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** How much of [fromMs, toMs] this process spent stalled, in ms. */
  within(fromMs: number, toMs: number): number {
    let ms = 0;
    for (const s of this.stalls) {
      if (s.toMs <= fromMs || s.fromMs >= toMs) continue;
      ms += Math.min(s.toMs, toMs) - Math.max(s.fromMs, fromMs);
    }
    return ms;
  }

  /** The longest stall that overlaps [fromMs, toMs], in ms (0 when none). */
  longest(fromMs: number, toMs: number): number {
    let max = 0;
    for (const s of this.stalls) if (s.toMs > fromMs && s.fromMs < toMs) max = Math.max(max, s.toMs - s.fromMs);
    return max;
  }
}
