import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControlRequest } from '../fake/control.ts';
import type { FakeApi } from '../fake/fake-api.ts';
import { toFetchRequest, writeFetchResponse } from './http-bridge.ts';

/**
 * A tiny HTTP server on 127.0.0.1 exposing a fake's control API (see fake/control.ts)
 * to a driver in another process. It never keeps the process alive on its own.
 */
export interface ControlServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startControlServer(fake: FakeApi, port = 0): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Accept the loopback server's `/_control` prefix too, so drivers need one client.
    const path = url.pathname.replace(/^\/_control(?=\/|$)/, '') || '/';
    const bridged = toFetchRequest(req, res, url.href);
    handleControlRequest(fake, bridged.request, path)
      .then((response) => writeFetchResponse(req, res, response, bridged.signal))
      .catch(() => res.destroy())
      .finally(() => bridged.done());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  server.unref();
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
