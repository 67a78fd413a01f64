/**
 * Gives a large call's garbage back to the system once the server is idle.
 *
 * V8 collects when it allocates, not when it is idle: after a call over 50,000 files the
 * heap was committed at 208 MB with 35 MB alive, plus 45 MB of dead external buffers, and
 * it stayed so for as long as the server made no new call (measured 30 s: RSS 471 MB
 * against 257 MB before the call; V8's own memory reducer never ran in that time). A
 * regular full collection frees the objects but keeps the pages (RSS unchanged); only
 * the memory-reducing one gives them back, and it costs a pause of several full
 * collections, which is why it waits for a lull. Node exposes no "memory pressure" notification, so
 * once no call has been in flight for `afterIdleMs` and the slack (committed heap not in
 * use, plus external memory) is at least `minSlackBytes`, this runs V8's memory-reducing
 * collection (`gc({ flavor: 'last-resort' })`, the one that also shrinks the heap and frees
 * dead buffers). It runs while nothing waits on the server, is skipped for small slack
 * (a pause for nothing), and each run is counted with its pause and what it freed.
 *
 * The collector is reached through `--expose-gc`, set at run time: Node offers no other
 * way to ask for a collection, and the server is started by commands we do not control
 * (an assistant's MCP config), so a command-line flag cannot be relied on.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFn = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

export interface ReclaimStats {
  /** Why reclaiming is off, or null when it is on. */
  disabled: string | null;
  /** How long the server must be without a tool call before a run. */
  afterIdleMs: number;
  runs: number;
  /** Idle moments where the slack was below the threshold (no collection). */
  skipped: number;
  lastPauseMs: number | null;
  lastFreedBytes: number | null;
  /** Resident memory before and after the last run. */
  lastRssBeforeBytes: number | null;
  lastRssAfterBytes: number | null;
}

export interface ReclaimOptions {
  afterIdleMs: number;
  minSlackBytes: number;
  /** Told of every run (for the log). */
  onReclaim?: (stats: ReclaimStats) => void;
  /** For tests: the collector and the memory figures. */
  gc?: GcFn | null;
  memoryUsage?: () => NodeJS.MemoryUsage;
}

/** The slack a collection could give back: committed heap not in use, plus external memory. */
export function slackBytes(m: Pick<NodeJS.MemoryUsage, 'heapTotal' | 'heapUsed' | 'external'>): number {
  return Math.max(0, m.heapTotal - m.heapUsed) + m.external;
}

let exposed: GcFn | null | undefined;
function exposeGc(): GcFn | null {
  if (exposed !== undefined) return exposed;
  const existing = (globalThis as { gc?: GcFn }).gc;
  if (typeof existing === 'function') return (exposed = existing);
  try {
    setFlagsFromString('--expose-gc');
    // A fresh context is created after the flag is set, so its global has `gc`.
    const fn = runInNewContext('gc') as unknown;
    exposed = typeof fn === 'function' ? (fn as GcFn) : null;
  } catch {
    exposed = null;
  }
  return exposed;
}

export class MemoryReclaimer {
  readonly #opts: ReclaimOptions;
  readonly #gc: GcFn | null;
  readonly #memoryUsage: () => NodeJS.MemoryUsage;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #stats: ReclaimStats;

  constructor(opts: ReclaimOptions) {
    this.#opts = opts;
    this.#memoryUsage = opts.memoryUsage ?? (() => process.memoryUsage());
    const off = opts.afterIdleMs <= 0 ? 'turned off (RECLAIM_AFTER_IDLE_MS is 0)' : null;
    this.#gc = off ? null : opts.gc !== undefined ? opts.gc : exposeGc();
    this.#stats = {
      disabled: off ?? (this.#gc ? null : 'the V8 collector could not be exposed'),
      afterIdleMs: opts.afterIdleMs,
      runs: 0, skipped: 0, lastPauseMs: null, lastFreedBytes: null, lastRssBeforeBytes: null, lastRssAfterBytes: null,
    };
  }

  /** The server went idle (no call in flight): reclaim after the idle delay unless a call starts. */
  idle(): void {
    if (this.#closed || !this.#gc) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#run(), this.#opts.afterIdleMs);
    this.#timer.unref();
  }

  /** A call started: whatever was planned waits for the next idle moment. */
  busy(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  stats(): ReclaimStats {
    return { ...this.#stats };
  }

  close(): void {
    this.#closed = true;
    this.busy();
  }

  #run(): void {
    this.#timer = undefined;
    if (this.#closed || !this.#gc) return;
    const before = this.#memoryUsage();
    if (slackBytes(before) < this.#opts.minSlackBytes) {
      this.#stats.skipped++;
      return;
    }
    const started = performance.now();
    this.#gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const pauseMs = performance.now() - started;
    const after = this.#memoryUsage();
    Object.assign(this.#stats, {
      runs: this.#stats.runs + 1,
      lastPauseMs: Math.round(pauseMs * 10) / 10,
      lastFreedBytes: Math.max(0, before.heapTotal + before.external - (after.heapTotal + after.external)),
      lastRssBeforeBytes: before.rss,
      lastRssAfterBytes: after.rss,
    });
    this.#opts.onReclaim?.(this.stats());
  }
}
