/**
 * Opt-in (SECOND_BRAIN_PROFILE_ON_STALL=1): a CPU profile of each event-loop stall, so a
 * stall names the function that blocked, not just the operations that suffered.
 *
 * JavaScript cannot start a profiler while the loop is blocked, so the V8 sampling
 * profiler runs continuously (coarse: one sample per 10 ms) in short windows: on a quiet
 * watchdog tick a window older than WINDOW_MS is discarded and a new one started, which
 * bounds memory; on a stall the current window, which holds the stall, is written to
 * `<home>/telemetry/profiles/stall-<time>.cpuprofile` (open it in Chrome DevTools).
 * Bounded: at most one capture per MIN_CAPTURE_GAP_MS and MAX_PROFILES files.
 */
import { Session } from 'node:inspector';
import { mkdir, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULTS } from '../config/defaults.ts';

const SAMPLING_INTERVAL_US = DEFAULTS.STALL_PROFILE_SAMPLING_INTERVAL_US;
const WINDOW_MS = DEFAULTS.STALL_PROFILE_WINDOW_MS;
const MIN_CAPTURE_GAP_MS = DEFAULTS.STALL_PROFILE_MIN_GAP_MS;
const MAX_PROFILES = DEFAULTS.STALL_PROFILE_MAX_KEPT;

export class StallProfiler {
  readonly dir: string;
  #session: Session | undefined;
  #windowStart = 0;
  #lastCapture = -Infinity;
  /** Captures skipped because one was taken less than MIN_CAPTURE_GAP_MS ago. */
  skipped = 0;
  /** Paths written so far. */
  readonly written: string[] = [];

  constructor(dir: string) {
    this.dir = dir;
  }

  start(): void {
    if (this.#session) return;
    const s = new Session();
    s.connect();
    s.post('Profiler.enable');
    s.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
    s.post('Profiler.start');
    this.#session = s;
    this.#windowStart = performance.now();
  }

  /** Discards a window older than WINDOW_MS and starts a new one (call on quiet ticks). */
  rotate(): void {
    const s = this.#session;
    if (!s || performance.now() - this.#windowStart < WINDOW_MS) return;
    s.post('Profiler.stop');
    s.post('Profiler.start');
    this.#windowStart = performance.now();
  }

  /** Writes the current window (which holds the stall that just ended), then starts a new one. */
  capture(): Promise<string | undefined> {
    const s = this.#session;
    const now = performance.now();
    if (!s) return Promise.resolve(undefined);
    if (now - this.#lastCapture < MIN_CAPTURE_GAP_MS) { this.skipped++; return Promise.resolve(undefined); }
    this.#lastCapture = now;
    return new Promise((resolve) => {
      s.post('Profiler.stop', (err, result) => {
        s.post('Profiler.start');
        this.#windowStart = performance.now();
        if (err || !result?.profile) { resolve(undefined); return; }
        const path = join(this.dir, `stall-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
        this.#write(path, JSON.stringify(result.profile)).then(() => resolve(path), () => resolve(undefined));
      });
    });
  }

  async #write(path: string, data: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(path, data, { mode: 0o600 });
    this.written.push(path);
    const names = (await readdir(this.dir)).filter((n) => n.startsWith('stall-') && n.endsWith('.cpuprofile')).sort();
    for (const n of names.slice(0, Math.max(0, names.length - MAX_PROFILES))) await unlink(join(this.dir, n)).catch(() => {});
  }

  stop(): void {
    const s = this.#session;
    this.#session = undefined;
    if (!s) return;
    try {
      s.post('Profiler.stop');
      s.post('Profiler.disable');
    } finally {
      s.disconnect();
    }
  }
}
