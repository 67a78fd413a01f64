/**
 * Allowed roots: the roots the MCP client sends, else the server's working directory,
 * plus SECOND_BRAIN_ALLOWED_PATHS. Client roots are fetched once per connection and again
 * after notifications/roots/list_changed; the request is bounded so a client that never
 * answers cannot stall a tool call.
 */
import { fileURLToPath } from 'node:url';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { RootsListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { DEFAULTS } from '../config/defaults.ts';

const ROOTS_REQUEST_TIMEOUT_MS = DEFAULTS.ROOTS_REQUEST_TIMEOUT_MS;

export class RootsCache {
  readonly #server: Server;
  readonly #extra: string[];
  readonly #cwd: string;
  #cached: Promise<string[]> | undefined;

  constructor(server: Server, extraRoots: string[], cwd = process.cwd()) {
    this.#server = server;
    this.#extra = extraRoots;
    this.#cwd = cwd;
    server.setNotificationHandler(RootsListChangedNotificationSchema, async () => { this.#cached = undefined; });
  }

  async get(signal: AbortSignal): Promise<string[]> {
    this.#cached ??= this.#fetch(signal).catch(() => { this.#cached = undefined; return [this.#cwd]; });
    const base = await this.#cached;
    return [...new Set([...base, ...this.#extra])];
  }

  async #fetch(signal: AbortSignal): Promise<string[]> {
    const caps = this.#server.getClientCapabilities();
    if (!caps?.roots) return [this.#cwd];
    const res = await this.#server.listRoots(undefined, { signal, timeout: ROOTS_REQUEST_TIMEOUT_MS });
    const paths = res.roots
      .filter((r) => r.uri.startsWith('file://'))
      .map((r) => fileURLToPath(r.uri));
    return paths.length ? paths : [this.#cwd];
  }
}
