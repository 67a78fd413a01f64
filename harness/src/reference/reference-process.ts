import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { z } from 'zod';
import { nowMs } from '../driver/clock.ts';
import { PingSampler } from '../driver/ping-sampler.ts';
import { percentile } from '../probes/measurement.ts';
import { REFERENCE_LOOP_RESOLUTION_MS, REFERENCE_PING_INTERVAL_MS, REFERENCE_START_TIMEOUT_MS } from './defaults.ts';
import type { ReferenceFigures } from './judging.ts';

/**
 * The reference process, seen from the measuring side: started with `process.execPath`
 * beside the server under test, pinged over stdio with the same MCP client and the same
 * sampler as the server, and asked for its own event-loop delay over a window. Whatever
 * it shows is the machine's noise in that window, since it does nothing else.
 *
 * ```ts
 * const ref = await ReferenceProcess.start({ signal });
 * const window = await ref.openWindow();
 * // … measure the server (or this process's own loop) …
 * const figures = await ref.closeWindow(window); // { pingMaxMs, loopMaxMs, … }
 * await ref.close();
 * ```
 *
 * One window at a time: the loop histogram is reset when a window opens.
 */

const CHILD = fileURLToPath(new URL('./reference-child.ts', import.meta.url));

const LoopResult = z.object({ maxMs: z.number(), p99Ms: z.number(), meanMs: z.number(), samples: z.number(), sinceMs: z.number() });

export interface ReferenceOptions {
  signal?: AbortSignal;
  /** Default REFERENCE_PING_INTERVAL_MS (50 ms). */
  pingIntervalMs?: number;
  /** Resolution of the reference's loop histogram; match the one it is compared with. Default REFERENCE_LOOP_RESOLUTION_MS (10 ms). */
  loopResolutionMs?: number;
}

export interface ReferenceWindow {
  startMs: number;
}

export class ReferenceProcess {
  readonly client: Client;
  readonly transport: StdioClientTransport;
  readonly pings: PingSampler;
  readonly pid: number | null;
  readonly loopResolutionMs: number;
  #closed = false;

  private constructor(client: Client, transport: StdioClientTransport, pings: PingSampler, loopResolutionMs: number) {
    this.loopResolutionMs = loopResolutionMs;
    this.client = client;
    this.transport = transport;
    this.pings = pings;
    this.pid = transport.pid;
  }

  /** Spawns the reference, completes the MCP handshake and starts pinging it. */
  static async start(options: ReferenceOptions = {}): Promise<ReferenceProcess> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CHILD],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SB_REFERENCE_LOOP_RESOLUTION_MS: String(options.loopResolutionMs ?? REFERENCE_LOOP_RESOLUTION_MS) },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'second-brain-reference-client', version: '0.1.0' });
    const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(REFERENCE_START_TIMEOUT_MS)]) : AbortSignal.timeout(REFERENCE_START_TIMEOUT_MS);
    try {
      await client.connect(transport, { signal, timeout: REFERENCE_START_TIMEOUT_MS });
    } catch (error) {
      await transport.close().catch(() => {});
      throw new Error(`The reference process (${process.execPath} ${CHILD}) did not answer its MCP handshake within ${REFERENCE_START_TIMEOUT_MS} ms.`, { cause: error });
    }
    const pings = new PingSampler({ intervalMs: options.pingIntervalMs ?? REFERENCE_PING_INTERVAL_MS });
    pings.setClient(client);
    pings.start();
    return new ReferenceProcess(client, transport, pings, options.loopResolutionMs ?? REFERENCE_LOOP_RESOLUTION_MS);
  }

  /** Starts a measuring window now: the reference's loop histogram restarts. */
  async openWindow(signal?: AbortSignal): Promise<ReferenceWindow> {
    await this.#loop(true, signal);
    return { startMs: nowMs() };
  }

  /** The reference's figures from the window's start to now. */
  async closeWindow(window: ReferenceWindow, signal?: AbortSignal): Promise<ReferenceFigures> {
    const endMs = nowMs();
    const loop = await this.#loop(false, signal).catch(() => null);
    const rtts = this.pings.samples.filter((p) => p.atMs >= window.startMs && p.atMs <= endMs).map((p) => p.rttMs);
    return {
      startMs: window.startMs,
      endMs,
      pings: rtts.length,
      pingMaxMs: rtts.length ? Math.max(...rtts) : null,
      pingP99Ms: percentile(rtts, 99),
      pingP50Ms: percentile(rtts, 50),
      loopMaxMs: loop ? loop.maxMs : null,
      loopP99Ms: loop ? loop.p99Ms : null,
      loopResolutionMs: this.loopResolutionMs,
    };
  }

  async #loop(reset: boolean, signal?: AbortSignal): Promise<z.infer<typeof LoopResult>> {
    return this.client.request({ method: 'reference/loop', params: { reset } }, LoopResult, { timeout: 5_000, ...(signal ? { signal } : {}) });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pings.stop();
    await this.client.close().catch(() => {});
  }
}
