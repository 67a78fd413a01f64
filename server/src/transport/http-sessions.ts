/**
 * The MCP sessions of the HTTP transport: at most `maxSessions` at once, and a session
 * with no request open for `idleMs` is closed, which frees its McpServer and transport.
 * Counters feed server_diagnostics.
 */
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { SecondBrainServer } from '../mcp/create-server.ts';
import { ErrorCode, SbError } from '../errors.ts';

export interface HttpSession {
  readonly id: string;
  readonly transport: StreamableHTTPServerTransport;
  readonly sb: SecondBrainServer;
  /** HTTP requests of this session still open (a GET stream or an SSE reply counts until it ends). */
  open: number;
  idleTimer?: NodeJS.Timeout;
}

export type CloseReason = 'expired' | 'deleted' | 'shutdown';

export interface HttpSessionStats {
  open_sessions: number;
  max_sessions: number;
  session_idle_ms: number;
  /** Sessions closed by idle expiry since start. */
  expired: number;
  /** initialize requests refused because the cap was reached. */
  rejected: number;
  /** Sessions ended by the client (DELETE). */
  deleted: number;
  /** Requests refused before any session work: bad Host/Origin (403), missing or wrong token (401). */
  refused_host_origin: number;
  refused_unauthorized: number;
}

export class HttpSessions {
  readonly #byId = new Map<string, HttpSession>();
  readonly #max: number;
  readonly #idleMs: number;
  #reserved = 0;
  readonly counts = { expired: 0, rejected: 0, deleted: 0, refusedHostOrigin: 0, refusedUnauthorized: 0 };

  constructor(opts: { maxSessions: number; idleMs: number }) {
    this.#max = opts.maxSessions;
    this.#idleMs = opts.idleMs;
  }

  get size(): number { return this.#byId.size; }
  get(id: string): HttpSession | undefined { return this.#byId.get(id); }
  values(): IterableIterator<HttpSession> { return this.#byId.values(); }

  /** Takes a slot for an initialize; false (and counted) when the cap is reached. Pair with `settle`. */
  reserve(): boolean {
    if (this.#byId.size + this.#reserved >= this.#max) { this.counts.rejected++; return false; }
    this.#reserved++;
    return true;
  }

  /** Ends a reservation: the session, if the initialize created one, is now counted in `size`. */
  settle(): void { this.#reserved = Math.max(0, this.#reserved - 1); }

  add(s: HttpSession): void { this.#byId.set(s.id, s); }

  /** A request of `s` started: the session is busy, not idle. */
  begin(s: HttpSession): void {
    s.open++;
    if (s.idleTimer) { clearTimeout(s.idleTimer); s.idleTimer = undefined; }
  }

  /** A request of `s` ended; with none left open the idle clock starts. */
  end(s: HttpSession): void {
    s.open = Math.max(0, s.open - 1);
    if (s.open === 0 && this.#byId.get(s.id) === s) this.#arm(s);
  }

  #arm(s: HttpSession): void {
    if (s.idleTimer) clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => { void this.close(s, 'expired'); }, this.#idleMs);
    // An idle session's timer must not keep the process alive.
    s.idleTimer.unref();
  }

  /**
   * Forgets `s` (a later request with its id gets 404) and closes its server and
   * transport. Safe to call more than once; the transport's onclose calls it too.
   */
  async close(s: HttpSession, why: CloseReason): Promise<void> {
    if (this.#byId.get(s.id) !== s) return;
    this.#byId.delete(s.id);
    if (s.idleTimer) { clearTimeout(s.idleTimer); s.idleTimer = undefined; }
    if (why === 'expired') this.counts.expired++;
    else if (why === 'deleted') this.counts.deleted++;
    // Its MCP tasks live in this session's store: once it is gone nobody can fetch their
    // results, so the work stops too. Jobs (start_job) belong to the App and carry on.
    if (why !== 'shutdown') s.sb.tasks.abortAll(new SbError(ErrorCode.CANCELLED, `The MCP session ended (${why}).`));
    s.sb.tasks.cleanup();
    await s.sb.mcp.close().catch(() => {});
  }

  stats(): HttpSessionStats {
    return {
      open_sessions: this.#byId.size, max_sessions: this.#max, session_idle_ms: this.#idleMs,
      expired: this.counts.expired, rejected: this.counts.rejected, deleted: this.counts.deleted,
      refused_host_origin: this.counts.refusedHostOrigin, refused_unauthorized: this.counts.refusedUnauthorized,
    };
  }
}
