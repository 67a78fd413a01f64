/**
 * Tracks the spans that are open right now, so the event-loop watchdog can mark every
 * operation that was in progress during a stall (KI-20: each trace shows where its time
 * went, including time lost to someone else blocking the loop).
 *
 * Cost on the request path: one Set insert and delete per span. Bounded: spans that are
 * never ended (a bug elsewhere) cannot grow the set past MAX_TRACKED_SPANS; beyond it new
 * spans are simply not tracked, and counted.
 */
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { DEFAULTS } from '../config/defaults.ts';

const MAX_TRACKED_SPANS = DEFAULTS.ACTIVE_SPANS_MAX_TRACKED;

export class ActiveSpanTracker implements SpanProcessor {
  readonly #open = new Set<Span>();
  /** Spans not tracked because the bound was reached. */
  untracked = 0;

  onStart(span: Span, _parentContext: Context): void {
    if (this.#open.size >= MAX_TRACKED_SPANS) { this.untracked++; return; }
    this.#open.add(span);
  }

  onEnd(span: ReadableSpan): void {
    this.#open.delete(span as Span);
  }

  /** The spans open now (a copy). */
  active(): Span[] {
    return [...this.#open];
  }

  get size(): number { return this.#open.size; }

  forceFlush(): Promise<void> { return Promise.resolve(); }

  shutdown(): Promise<void> {
    this.#open.clear();
    return Promise.resolve();
  }
}
