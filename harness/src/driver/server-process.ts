import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { nowMs } from './clock.ts';

/**
 * One server process driven by a real MCP client (the SDK's `Client` over
 * `StdioClientTransport`), with a chosen policy for its stderr pipe. The process is
 * spawned through `/bin/sh -c "exec …"` so any command line works (`--server "<cmd>"`),
 * a descriptor limit can be set with `ulimit` (KI-08), and the pid is the server's own.
 */

/**
 * What the client does with the server's stderr:
 * - `drain`: read everything as it comes (a well-behaved client);
 * - `never-read`: pipe it and never read, so the pipe fills (KI-10);
 * - `read-at`: read at most `bytesPerSecond` (a slow consumer, KI-10).
 */
export type StderrPolicy =
  | { policy: 'drain' }
  | { policy: 'never-read' }
  | { policy: 'read-at'; bytesPerSecond: number };

export interface StartServerOptions {
  /** A shell command line, e.g. `node server/src/main.ts`. */
  command: string;
  cwd: string;
  /** The complete environment; nothing of the harness's own environment leaks in. */
  env: Record<string, string>;
  stderr: StderrPolicy;
  /** `ulimit -n` for the server process. */
  maxOpenFiles?: number;
  /** Directories offered to the server as MCP roots. */
  roots?: string[];
  /** Which start this is (0 first, 1 after the first restart, …). */
  generation?: number;
  /** Default 15 000 ms. */
  connectTimeoutMs?: number;
  /** Bound on captured stderr and stdout text, bytes each. Default 8 MiB. */
  captureLimitBytes?: number;
}

/** Default bound on the stderr and stdout text kept for the secrets probe. */
export const DEFAULT_CAPTURE_LIMIT_BYTES = 8 * 1024 * 1024;
/**
 * Spawn → MCP handshake. A set-up timeout, not a catalogue bound: on the shared 2-core
 * machine with two busy loops and other test runs beside it (load average 18), the
 * server's start took 14.9 s (module loading competes for the CPU), so 15 s failed runs
 * that said nothing about the server.
 */
const DEFAULT_CONNECT_TIMEOUT_MS = 45_000;
const READ_AT_TICK_MS = 100;

/** A bounded text capture: keeps the first `limit` bytes and counts the rest. */
class Capture {
  readonly #chunks: string[] = [];
  #bytes = 0;
  dropped = 0;
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  add(text: string): void {
    const size = Buffer.byteLength(text);
    if (this.#bytes + size > this.#limit) {
      this.dropped += size;
      return;
    }
    this.#bytes += size;
    this.#chunks.push(text);
  }
  get bytes(): number {
    return this.#bytes;
  }
  text(): string {
    return this.#chunks.join('');
  }
}

export class ServerProcess {
  readonly client: Client;
  readonly transport: StdioClientTransport;
  readonly generation: number;
  readonly startedAtMs: number;
  #pid = 0;
  #closedAtMs: number | null = null;
  #expectedExit = false;
  #stderrReader: NodeJS.Timeout | undefined;
  readonly #stderr: Capture;
  readonly #stdout: Capture;
  readonly #errors: string[] = [];
  readonly #policy: StderrPolicy;
  #stderrBytesRead = 0;
  readonly #closed: Promise<void>;

  private constructor(options: StartServerOptions) {
    this.generation = options.generation ?? 0;
    this.startedAtMs = nowMs();
    this.#policy = options.stderr;
    const limit = options.captureLimitBytes ?? DEFAULT_CAPTURE_LIMIT_BYTES;
    this.#stderr = new Capture(limit);
    this.#stdout = new Capture(limit);
    const script = `${options.maxOpenFiles ? `ulimit -n ${Math.floor(options.maxOpenFiles)} && ` : ''}exec ${options.command}`;
    this.transport = new StdioClientTransport({
      command: '/bin/sh',
      args: ['-c', script],
      env: options.env,
      cwd: options.cwd,
      stderr: 'pipe',
    });
    this.client = new Client({ name: 'second-brain-chaos', version: '0.1.0' }, { capabilities: options.roots ? { roots: { listChanged: false } } : {} });
    if (options.roots) {
      const roots = options.roots.map((dir) => ({ uri: pathToFileURL(dir).href, name: dir }));
      this.client.setRequestHandler(ListRootsRequestSchema, () => ({ roots }));
    }
    this.#closed = new Promise((resolve) => {
      this.client.onclose = () => {
        this.#closedAtMs ??= nowMs();
        resolve();
      };
    });
    this.client.onerror = (error) => {
      const message = String(error?.message ?? error);
      // A reply to a request this client already gave up on (a cancel, or a ping cut short) is allowed by MCP.
      if (/unknown message ID/i.test(message)) return;
      // The SDK client handles a notification one microtask after a response read in the same
      // chunk, so progress sent just before a reply (or just before a cancel took effect)
      // reaches it after the request is settled. The server sent it in order; not an error.
      if (/unknown (progress )?token/i.test(message)) return;
      // Non-JSON on stdout and similar transport errors: kept, since "never log to stdout" is a rule.
      if (this.#errors.length < 100) this.#errors.push(message);
    };
    this.#applyStderrPolicy(this.transport.stderr as Readable);
  }

  /** Spawns the server and completes the MCP handshake. */
  static async start(options: StartServerOptions): Promise<ServerProcess> {
    const server = new ServerProcess(options);
    try {
      await server.client.connect(server.transport, { timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
    } catch (error) {
      const stderr = server.stderrText().slice(-2_000);
      await server.kill('SIGKILL');
      throw new Error(`Failed to start the server (${options.command}): ${(error as Error).message}${stderr ? `\nstderr:\n${stderr}` : ''}`, { cause: error });
    }
    server.#pid = server.transport.pid ?? 0;
    server.#recordStdout();
    return server;
  }

  get pid(): number {
    return this.#pid;
  }

  /** True while the connection is open. */
  get alive(): boolean {
    return this.#closedAtMs === null;
  }

  /** When the connection closed although nobody asked it to (a crash), else null. */
  get unexpectedExitAtMs(): number | null {
    return this.#expectedExit ? null : this.#closedAtMs;
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  stderrText(): string {
    return this.#stderr.text();
  }

  /** Every JSON-RPC message the server wrote to stdout, one JSON text per line. */
  stdoutText(): string {
    return this.#stdout.text();
  }

  /** Transport errors (for example non-JSON written to stdout). */
  transportErrors(): string[] {
    return [...this.#errors];
  }

  stderrStats(): { policy: StderrPolicy['policy']; bytesRead: number; bytesDropped: number } {
    return { policy: this.#policy.policy, bytesRead: this.#stderrBytesRead, bytesDropped: this.#stderr.dropped };
  }

  /**
   * Starts reading stderr to the end, whatever the policy was, so that what the server
   * wrote can still be searched (the secrets probe) once the measured part is over.
   */
  drainStderr(): void {
    clearInterval(this.#stderrReader);
    const stream = this.transport.stderr as Readable | null;
    if (!stream || this.#policy.policy === 'drain') return;
    stream.on('data', (chunk: Buffer) => this.#onStderr(chunk));
    stream.resume();
  }

  /** Sends a signal to the server; SIGKILL waits until the connection has closed (bounded). */
  async kill(signal: NodeJS.Signals = 'SIGKILL', waitMs = 5_000): Promise<void> {
    this.#expectedExit = true;
    clearInterval(this.#stderrReader);
    const pid = this.#pid || this.transport.pid;
    if (pid) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
    await Promise.race([this.#closed, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
    // The transport keeps handles until told to close.
    await this.transport.close().catch(() => {});
  }

  /** Closes stdin (the server's cue to shut down gracefully); SIGTERM then SIGKILL if it lingers. */
  async close(): Promise<void> {
    this.#expectedExit = true;
    clearInterval(this.#stderrReader);
    await this.client.close().catch(() => {});
  }

  #onStderr(chunk: Buffer): void {
    this.#stderrBytesRead += chunk.length;
    this.#stderr.add(chunk.toString('utf8'));
  }

  #applyStderrPolicy(stream: Readable | null): void {
    if (!stream) return;
    const policy = this.#policy;
    if (policy.policy === 'drain') {
      stream.on('data', (chunk: Buffer) => this.#onStderr(chunk));
      return;
    }
    if (policy.policy === 'never-read') return; // KI-10: the pipe fills and the writer blocks or drops.
    if (!(policy.bytesPerSecond > 0)) throw new RangeError(`stderr.bytesPerSecond must be > 0, got ${policy.bytesPerSecond}`);
    const perTick = Math.max(1, Math.floor((policy.bytesPerSecond * READ_AT_TICK_MS) / 1000));
    this.#stderrReader = setInterval(() => {
      const available = stream.readableLength;
      if (available === 0) {
        // Nothing buffered yet: a read(0) lets the stream pull from the pipe.
        stream.read(0);
        return;
      }
      const chunk = stream.read(Math.min(perTick, available)) as Buffer | null;
      if (chunk) this.#onStderr(chunk);
    }, READ_AT_TICK_MS);
    this.#stderrReader.unref();
  }

  #recordStdout(): void {
    const transport = this.transport;
    const inner = transport.onmessage;
    // The stdio transport hands over the message alone (no extra info), so one argument.
    transport.onmessage = (message) => {
      this.#stdout.add(`${JSON.stringify(message)}\n`);
      inner?.(message);
    };
  }
}
