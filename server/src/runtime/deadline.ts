/**
 * A deadline signal whose timer is cleared when the work ends.
 *
 * `AbortSignal.timeout(ms)` keeps its timer, the signal and every `AbortSignal.any`
 * composite built on it alive until the timer fires, even after the work is done: a
 * chat call with a 300 s deadline pins its signals for five minutes, so at a few hundred
 * calls per second the process holds ~100,000 of them and RSS grows for the whole run.
 * This helper aborts with the same `TimeoutError` DOMException, and `dispose()` frees
 * the timer (and with it the signals) as soon as the call ends.
 */
import { addAbortListener } from 'node:events';

export interface Deadline extends Disposable {
  /** Aborted when any parent aborts or `ms` pass, whichever is first. */
  signal: AbortSignal;
  /** Clears the timer; idempotent. Call when the work ends, however it ends. */
  dispose(): void;
}

let live = 0;

/** Deadlines whose timer is still pending (diagnostics and tests: must return to 0 when idle). */
export function liveDeadlines(): number {
  return live;
}

/**
 * @example
 * using d = deadline(300_000, request.signal, app.lifetime.signal);
 * await fetch(url, { signal: d.signal });
 */
export function deadline(ms: number, ...parents: Array<AbortSignal | undefined>): Deadline {
  const controller = new AbortController();
  live++;
  let pending = true;
  const timer = setTimeout(() => {
    pending = false;
    live--;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, Math.max(0, ms));
  timer.unref();
  const sources = parents.filter((s): s is AbortSignal => s !== undefined);
  const signal = sources.length ? AbortSignal.any([controller.signal, ...sources]) : controller.signal;
  const dispose = () => {
    if (!pending) return;
    pending = false;
    live--;
    clearTimeout(timer);
  };
  return { signal, dispose, [Symbol.dispose]: dispose };
}

/** The reason a released request signal is aborted with (nothing is waiting on it any more). */
const RELEASED = new DOMException('The request ended; its signal was released', 'AbortError');

/**
 * A signal for one upstream request that follows `parent` and is aborted when the
 * request has ended (`release()`).
 *
 * The openai SDK composes the signal it is given with its own (`AbortSignal.any`) and
 * undici adds an abort listener to that composite. Node keeps a composite with abort
 * listeners alive while any of its sources may still abort; with a call signal built on
 * the server's lifetime signal that is forever, so every request left one composite
 * (and its listener closures) behind. Aborting this per-request signal once the request
 * has ended lets those composites go.
 */
export function requestSignal(parent: AbortSignal): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  if (parent.aborted) controller.abort(parent.reason);
  const detach = addAbortListener(parent, () => controller.abort(parent.reason));
  return {
    signal: controller.signal,
    release: () => {
      detach[Symbol.dispose]();
      if (!controller.signal.aborted) controller.abort(RELEASED);
    },
  };
}
