import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getResponse } from 'msw';
import { handleControlRequest } from '../fake/control.ts';
import type { ControlExtension } from '../fake/control.ts';
import { jsonResponse } from '../fake/errors.ts';
import { createFakeApi } from '../fake/fake-api.ts';
import type { FakeApi } from '../fake/fake-api.ts';
import type { FakeApiOptions } from '../fake/options.ts';
import { LOOPBACK_PREFIXES, PROVIDER_NAMES } from '../fake/routes.ts';
import type { ProviderName } from '../fake/routes.ts';
import { resetSocket, toFetchRequest, writeFetchResponse } from './http-bridge.ts';

/**
 * Serves a fake's msw handlers over real sockets on 127.0.0.1, for tests that need
 * real connections: several server processes sharing one account (KI-18), and
 * keep-alive connections that the far side closes or resets (KI-16).
 */

export interface ConnectionFaults {
  /**
   * Close a kept-alive connection after it sat idle this long (`null`: never).
   * `mode: 'reset'` sends RST instead of FIN.
   */
  setIdleClose(afterMs: number | null, mode?: 'close' | 'reset'): void;
  /** Reset the next `count` requests that arrive on an already-used connection, without answering. */
  resetNextReused(count?: number): void;
  stats(): ConnectionStats;
}

export interface ConnectionStats {
  open: number;
  opened: number;
  closedIdle: number;
  resetOnReuse: number;
}

export interface LoopbackOptions {
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Serve this fake; otherwise one is created from `fakeOptions`. */
  fake?: FakeApi;
  fakeOptions?: FakeApiOptions;
  /** Initial idle-close policy (see `ConnectionFaults.setIdleClose`). */
  idleCloseMs?: number;
}

export interface LoopbackFake {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Per provider: `…/openai/v1`, `…/xai/v1`, `…/gemini/v1beta/openai`. */
  baseUrls: Record<ProviderName, string>;
  /** Control API root: `…/_control`. */
  controlUrl: string;
  fake: FakeApi;
  connections: ConnectionFaults;
  close(): Promise<void>;
}

interface SocketInfo {
  requests: number;
  idleTimer: NodeJS.Timeout | null;
}

/**
 * Starts the loopback fake.
 *
 * @example
 * const lb = await startLoopbackFake();
 * const client = new OpenAI({ apiKey: 'sk-test', baseURL: lb.baseUrls.openai, maxRetries: 0 });
 * await lb.close();
 */
export async function startLoopbackFake(options: LoopbackOptions = {}): Promise<LoopbackFake> {
  const fake = options.fake ?? createFakeApi(options.fakeOptions);
  const sockets = new Map<Socket, SocketInfo>();
  const stats = { opened: 0, closedIdle: 0, resetOnReuse: 0 };
  let idleCloseMs: number | null = options.idleCloseMs ?? null;
  let idleMode: 'close' | 'reset' = 'close';
  let resetPending = 0;

  const connections: ConnectionFaults = {
    setIdleClose(afterMs, mode = 'close') {
      if (afterMs !== null && !(afterMs >= 0)) throw new RangeError(`idleCloseMs must be >= 0 or null, got ${afterMs}`);
      idleCloseMs = afterMs;
      idleMode = mode;
    },
    resetNextReused(count = 1) {
      resetPending += count;
    },
    stats: () => ({ open: sockets.size, ...stats }),
  };

  const controlExtension: ControlExtension = (method, path, body) => {
    if (path !== '/connections') return undefined;
    if (method === 'POST') {
      const b = (body ?? {}) as { idleCloseMs?: number | null; idleMode?: 'close' | 'reset'; resetNextReused?: number };
      if (b.idleCloseMs !== undefined) connections.setIdleClose(b.idleCloseMs, b.idleMode);
      if (b.resetNextReused) connections.resetNextReused(b.resetNextReused);
    }
    return jsonResponse({ idleCloseMs, idleMode, resetPending, ...connections.stats() });
  };

  const armIdle = (socket: Socket, info: SocketInfo) => {
    if (idleCloseMs === null) return;
    const mode = idleMode;
    info.idleTimer = setTimeout(() => {
      stats.closedIdle += 1;
      if (mode === 'reset' && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket.end();
    }, idleCloseMs);
    info.idleTimer.unref();
  };

  let port = 0;
  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const info = sockets.get(req.socket);
    if (info) {
      info.requests += 1;
      if (info.idleTimer) clearTimeout(info.idleTimer);
      info.idleTimer = null;
      // KI-16: the far side dropped a pooled connection; the client learns it only now.
      if (info.requests > 1 && resetPending > 0) {
        resetPending -= 1;
        stats.resetOnReuse += 1;
        resetSocket(req);
        return;
      }
    }
    res.once('finish', () => {
      if (info && !req.socket.destroyed) armIdle(req.socket, info);
    });
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const control = url.pathname.match(/^\/_control(\/.*)?$/);
    const target = control ? url.href : fakeUrlFor(fake, url);
    const bridged = toFetchRequest(req, res, target ?? url.href);
    try {
      let response: Response | undefined;
      if (control) response = await handleControlRequest(fake, bridged.request, control[1] ?? '/', controlExtension);
      else if (target) response = await getResponse(fake.handlers, bridged.request);
      response ??= jsonResponse(
        { error: { message: `Unknown request to ${req.method} ${url.pathname}. Provider bases: ${Object.values(LOOPBACK_PREFIXES).join(', ')}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' } },
        404,
      );
      await writeFetchResponse(req, res, response, bridged.signal);
    } catch {
      if (!res.headersSent) res.destroy();
    } finally {
      bridged.done();
    }
  };

  const server: Server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    void onRequest(req, res);
  });
  server.on('connection', (socket: Socket) => {
    stats.opened += 1;
    sockets.set(socket, { requests: 0, idleTimer: null });
    socket.once('close', () => {
      const info = sockets.get(socket);
      if (info?.idleTimer) clearTimeout(info.idleTimer);
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const baseUrls = Object.fromEntries(PROVIDER_NAMES.map((p) => [p, `${url}${LOOPBACK_PREFIXES[p]}`])) as Record<ProviderName, string>;
  return {
    url,
    port,
    baseUrls,
    controlUrl: `${url}/_control`,
    fake,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const info of sockets.values()) if (info.idleTimer) clearTimeout(info.idleTimer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Maps `/openai/v1/…` (and the other prefixes) onto the fake's in-process base URL. */
function fakeUrlFor(fake: FakeApi, url: URL): string | undefined {
  for (const provider of PROVIDER_NAMES) {
    const prefix = LOOPBACK_PREFIXES[provider];
    if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) {
      return `${fake.baseUrls[provider]}${url.pathname.slice(prefix.length)}${url.search}`;
    }
  }
  return undefined;
}
