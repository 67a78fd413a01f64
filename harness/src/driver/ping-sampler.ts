import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { nowMs, sleep } from './clock.ts';
import type { PingSample } from './types.ts';

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
  #stop: AbortController | null = null;
  #loop: Promise<void> | null = null;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #paused = false;

  constructor(options: PingSamplerOptions = {}) {
    this.#intervalMs = options.intervalMs ?? DEFAULT_PING_INTERVAL_MS;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  }

  /** Points the sampler at a (new) client, e.g. after a restart. */
  setClient(client: Client | null): void {
    this.#client = client;
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
    const atMs = nowMs();
    try {
      await client.ping({ timeout: this.#timeoutMs, signal });
      // A ping cut short by stop() is not a measurement.
      if (!signal.aborted) this.samples.push({ atMs, rttMs: nowMs() - atMs, failed: false });
    } catch {
      if (signal.aborted || this.#paused || this.#client !== client) return;
      this.samples.push({ atMs, rttMs: nowMs() - atMs, failed: true });
    }
  }
}
