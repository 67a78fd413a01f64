/**
 * Real servers and processes for the telemetry integration tests: an echo "upstream", an
 * OTLP/HTTP receiver, collectors that hang or answer slowly, a refused port, and a child
 * process runner. Everything listens on 127.0.0.1, port 0.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const NODE = process.execPath;
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export interface Closable { url: string; close(): Promise<void> }

function address(server: Server | NetServer): string {
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function listen(server: Server | NetServer): Promise<void> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r()));
}

/** An upstream stand-in: answers every request after `delayMs`. */
export async function startEcho(delayMs = 0): Promise<Closable> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const answer = () => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-ratelimit-remaining-requests', '99');
        res.end('{"ok":true}');
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await listen(server);
  return { url: address(server), close: () => close(server) };
}

export interface Received { path: string; contentType: string; body: Buffer }

/** A minimal OTLP/HTTP receiver (JSON and protobuf): records every request and answers 200. */
export async function startReceiver(): Promise<Closable & { received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '');
      received.push({ path: req.url ?? '', contentType, body: Buffer.concat(chunks) });
      if (contentType.includes('json')) {
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      } else {
        res.setHeader('content-type', 'application/x-protobuf');
        res.end();
      }
    });
  });
  await listen(server);
  return { url: address(server), received, close: () => close(server) };
}

/** A collector that accepts connections and reads requests but never answers. */
export async function startHungCollector(): Promise<Closable> {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await listen(server);
  return {
    url: address(server),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r(undefined)));
    },
  };
}

/** A collector that answers 200, but only after `delayMs`. */
export async function startSlowCollector(delayMs: number): Promise<Closable> {
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    req.resume();
    const t = setTimeout(() => { timers.delete(t); res.end('{}'); }, delayMs);
    timers.add(t);
  });
  await listen(server);
  return {
    url: address(server),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await close(server);
    },
  };
}

/** A port nothing listens on (connections are refused). */
export async function refusedUrl(): Promise<string> {
  const s = createNetServer();
  await listen(s);
  const url = address(s);
  await new Promise((r) => s.close(() => r(undefined)));
  return url;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

export interface ChildResult { code: number | null; stdout: string; stderrTail: string; elapsedMs: number }

/** Runs a fixture with Node 24 and a clean environment plus `env`; kills it after `timeoutMs`. */
export function runFixture(name: string, env: Record<string, string>, timeoutMs: number): Promise<ChildResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [`${FIXTURES}${name}`], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    // Drained continuously: an unread stderr pipe would block the child (KI-10).
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8_000); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${name} ran past ${timeoutMs} ms\n${stderr}`)); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderrTail: stderr, elapsedMs: performance.now() - t0 });
    });
  });
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
