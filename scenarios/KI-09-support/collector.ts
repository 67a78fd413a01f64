/**
 * A misbehaving OTLP/HTTP collector on 127.0.0.1 for KI-09 and KI-21. The server under
 * test is pointed at it through `OTEL_EXPORTER_OTLP_ENDPOINT`, which must be known before
 * the server starts, so the collector binds its port when the scenario file is loaded and
 * `run` steps switch its behaviour:
 * - `ok`: answers 200 at once;
 * - `slow`: answers 200 after `delayMs`;
 * - `hang`: reads the request and never answers (the socket stays open);
 * - `refuse`: stops listening, so connections are refused (ECONNREFUSED), and listens on
 *   the same port again when another mode is chosen.
 * Its sockets are unref'd: it never keeps the harness alive.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type CollectorMode = { kind: 'ok' } | { kind: 'slow'; delayMs: number } | { kind: 'hang' } | { kind: 'refuse' };

export interface CollectorCounts {
  /** Requests whose body arrived, by signal path (`/v1/logs`, `/v1/traces`, …). */
  received: Record<string, number>;
  /** Requests answered with 200. */
  answered: number;
  /** Requests still held open (hang, or slow and not yet answered). */
  held: number;
}

export class TestCollector {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #port = 0;
  #mode: CollectorMode = { kind: 'ok' };
  #listening = false;
  #counts: CollectorCounts = { received: {}, answered: 0, held: 0 };

  private constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket: Socket) => {
      socket.unref();
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<TestCollector> {
    const c = new TestCollector();
    await c.#listen(0);
    return c;
  }

  /** `http://127.0.0.1:PORT`; the exporters append `/v1/traces`, `/v1/logs`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get mode(): CollectorMode {
    return this.#mode;
  }

  /** Switches behaviour; held requests are cut loose (their sockets destroyed) so a new run starts clean. */
  async setMode(mode: CollectorMode): Promise<void> {
    this.#mode = mode;
    if (mode.kind === 'refuse') {
      this.#dropAll();
      if (this.#listening) {
        this.#listening = false;
        await new Promise<void>((resolve) => this.#server.close(() => resolve()));
      }
      return;
    }
    if (!this.#listening) await this.#listen(this.#port);
  }

  /** Counts since the last reset. */
  counts(): CollectorCounts {
    return { ...this.#counts, received: { ...this.#counts.received } };
  }

  reset(): void {
    this.#counts = { received: {}, answered: 0, held: 0 };
  }

  #dropAll(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#counts.held = 0;
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#server.unref();
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#listening = true;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      this.#counts.received[path] = (this.#counts.received[path] ?? 0) + 1;
      const answer = () => {
        this.#counts.held = Math.max(0, this.#counts.held - 1);
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
        this.#counts.answered += 1;
      };
      const mode = this.#mode;
      if (mode.kind === 'ok') {
        this.#counts.held += 1;
        answer();
      } else if (mode.kind === 'slow') {
        this.#counts.held += 1;
        const t = setTimeout(() => {
          this.#timers.delete(t);
          answer();
        }, mode.delayMs);
        t.unref();
        this.#timers.add(t);
      } else {
        // hang: keep the request open until the mode changes or the client gives up.
        this.#counts.held += 1;
        res.on('close', () => {
          if (!res.writableEnded) this.#counts.held = Math.max(0, this.#counts.held - 1);
        });
      }
    });
  }
}

/**
 * Server environment that exports every signal to `endpoint` as OTLP/HTTP JSON with small,
 * bounded batch queues (`queueMax` per signal) and a 2 s export timeout: a slow collector's
 * answers still land, a hung one fills the queue quickly so drops show within seconds.
 */
export function boundedExportEnv(endpoint: string, queueMax: number): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
    OTEL_BLRP_MAX_QUEUE_SIZE: String(queueMax),
    OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '16',
    OTEL_BLRP_SCHEDULE_DELAY: '100',
    OTEL_BSP_MAX_QUEUE_SIZE: String(queueMax),
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '16',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
}
