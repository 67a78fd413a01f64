import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { nowMs, sleep } from './clock.ts';
import type { PingSample } from './types.ts';
import { schedOf, waitBetween } from '../reference/run-queue.ts';

/**
 * Samples MCP `ping` round trips all through a scenario (the "responsive" rule). One
 * ping at a time: a blocked event loop then shows as one long round trip, and the
 * sampler never piles requests onto a server that is already stuck.
 */

/** Default gap between the end of one ping and the start of the next. */
export const DEFAULT_PING_INTERVAL_MS = 50;
/** A ping that takes this long is recorded as failed at this value. */
export const DEFAULT_PING_TIMEOUT_MS = 5_000;

export interface PingSamplerOptions {
  intervalMs?: number;
  timeoutMs?: number;
}

export class PingSampler {
  readonly samples: PingSample[] = [];
  #client: Client | null = null;
  /** The pinged process, when known: each sample then carries its event loop's CPU wait. */
  #pid = 0;
  #stop: AbortController | null = null;
  #loop: Promise<void> | null = null;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #paused = false;

  constructor(options: PingSamplerOptions = {}) {
    this.#intervalMs = options.intervalMs ?? DEFAULT_PING_INTERVAL_MS;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  }

  /** Points the sampler at a (new) client, e.g. after a restart, and the process it reaches when known. */
  setClient(client: Client | null, pid = 0): void {
    this.#client = client;
    this.#pid = pid;
  }

  /** Stops sampling without ending the loop, e.g. while the server is being killed on purpose. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
  }

  start(): void {
    if (this.#loop) return;
    this.#stop = new AbortController();
    const signal = this.#stop.signal;
    this.#loop = (async () => {
      while (!signal.aborted) {
        const client = this.#client;
        if (client && !this.#paused) await this.#pingOnce(client, signal);
        await sleep(this.#intervalMs, signal).catch(() => {});
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    await this.#loop;
    this.#loop = null;
  }

  async #pingOnce(client: Client, signal: AbortSignal): Promise<void> {
    const pid = this.#pid;
    const before = schedOf(pid);
    const atMs = nowMs();
    const sample = (failed: boolean): PingSample => {
      const rttMs = nowMs() - atMs;
      const cpuWaitMs = waitBetween(before, schedOf(pid));
      return { atMs, rttMs, failed, ...(cpuWaitMs !== null ? { cpuWaitMs } : {}) };
    };
    try {
      await client.ping({ timeout: this.#timeoutMs, signal });
      // A ping cut short by stop() is not a measurement.
      if (!signal.aborted) this.samples.push(sample(false));
    } catch {
      if (signal.aborted || this.#paused || this.#client !== client) return;
      this.samples.push(sample(true));
    }
  }
}
