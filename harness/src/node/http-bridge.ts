import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

/**
 * Converts between node:http and fetch objects so msw handlers (which speak fetch)
 * can serve real sockets. The request's signal aborts when the connection closes
 * before the response finished: that is how the fake sees a client abort.
 */

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'proxy-connection']);

export interface BridgedRequest {
  request: Request;
  /** Aborted when the client goes away before the response is complete. */
  signal: AbortSignal;
  /** Call once the response is fully written, so a later close is not an abort. */
  done(): void;
}

export function toFetchRequest(req: IncomingMessage, res: ServerResponse, url: string): BridgedRequest {
  const controller = new AbortController();
  let finished = false;
  const onClose = () => {
    if (!finished) controller.abort(new Error('client closed the connection'));
  };
  res.once('close', onClose);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const request = new Request(url, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    // Required by fetch for a streamed request body.
    duplex: 'half',
    signal: controller.signal,
  });
  return {
    request,
    signal: controller.signal,
    done() {
      finished = true;
      res.off('close', onClose);
    },
  };
}

/**
 * Writes a fetch Response to the socket. A network-error Response resets the
 * connection; a body that errors mid-way resets it too, as a dropped upstream would.
 */
export async function writeFetchResponse(req: IncomingMessage, res: ServerResponse, response: Response, signal: AbortSignal): Promise<void> {
  if (response.type === 'error') {
    resetSocket(req);
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of response.headers) {
    if (HOP_BY_HOP.has(name)) continue;
    const existing = headers[name];
    headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  res.writeHead(response.status, response.statusText || undefined, headers);
  // A stalled body must still deliver its headers now (KI-05: headers, then nothing).
  res.flushHeaders();
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const onAbort = () => {
    reader.cancel().catch(() => undefined);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) await drained(res);
    }
    res.end();
  } catch {
    if (!signal.aborted) resetSocket(req);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

export function resetSocket(req: IncomingMessage): void {
  const socket = req.socket;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}
