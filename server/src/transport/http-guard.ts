/**
 * Who may talk to the HTTP endpoint: Host and Origin against an allow-list (DNS-rebinding
 * protection), then a bearer token. Both run before any session work.
 *
 * Hand-written rather than the SDK's: `hostHeaderValidation` (SDK 1.32) is Express
 * middleware, ignores the port and never looks at Origin, and the transport's own
 * `allowedHosts`/`allowedOrigins` options are deprecated and run inside
 * `handleRequest`, i.e. after an initialize has already built a session's McpServer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Loopback names accepted in Host (with the server's port) and Origin by default. */
export const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'] as const;

export interface OriginPolicy {
  /** Exact `host:port` values (lower case). */
  hosts: ReadonlySet<string>;
  /** Host names accepted on any port (entries given without a port). */
  anyPortHosts: ReadonlySet<string>;
  /** Exact origins (`scheme://host[:port]`, as URL.origin spells them). */
  origins: ReadonlySet<string>;
}

/**
 * The allow-list for a server listening on `port`: the loopback names with that port,
 * plus `extraHosts` (`name` for any port, `name:port` for one) and `extraOrigins`.
 */
export function originPolicy(port: number, extraHosts: readonly string[] = [], extraOrigins: readonly string[] = []): OriginPolicy {
  const hosts = new Set<string>();
  const anyPortHosts = new Set<string>();
  const origins = new Set<string>();
  for (const name of LOOPBACK_NAMES) {
    hosts.add(`${name}:${port}`);
    origins.add(`http://${name}:${port}`);
  }
  for (const h of extraHosts) {
    const u = new URL(`http://${h}`);
    if (u.port) hosts.add(u.host); else anyPortHosts.add(u.hostname);
  }
  for (const o of extraOrigins) origins.add(new URL(o).origin);
  return { hosts, anyPortHosts, origins };
}

export type Rejection = { status: number; message: string; headers?: Record<string, string> };

function hostAllowed(policy: OriginPolicy, raw: string | undefined): boolean {
  if (!raw) return false;
  let u: URL;
  try { u = new URL(`http://${raw}`); } catch { return false; }
  if (u.pathname !== '/' || u.username || u.password || u.search) return false;
  // URL drops the default port 80; a Host without a port only matches a port-free entry.
  return policy.hosts.has(u.host) || policy.anyPortHosts.has(u.hostname);
}

function originAllowed(policy: OriginPolicy, raw: string): boolean {
  let u: URL;
  try { u = new URL(raw); } catch { return false; }
  // The opaque origin "null" (sandboxed frames, file: pages) parses to origin "null": refused.
  return u.origin !== 'null' && policy.origins.has(u.origin);
}

/**
 * 403 unless Host is on the allow-list and Origin, when sent, is too. Browsers always send
 * Origin on cross-origin requests, so a page served from any other origin is refused even
 * when DNS rebinding makes its Host look local.
 */
export function checkOrigin(policy: OriginPolicy, headers: IncomingHttpHeaders): Rejection | undefined {
  if (!hostAllowed(policy, headers.host)) return { status: 403, message: `Host "${headers.host ?? ''}" is not allowed. Connect through 127.0.0.1, localhost or [::1] with the server's port, or add the name to SECOND_BRAIN_HTTP_ALLOWED_HOSTS.` };
  const origin = headers.origin;
  if (origin !== undefined && !originAllowed(policy, origin)) return { status: 403, message: `Origin "${origin}" is not allowed. Add it to SECOND_BRAIN_HTTP_ALLOWED_ORIGINS to let that page use the server.` };
  return undefined;
}

const REALM = 'second-brain';

/**
 * Bearer-token check (RFC 6750 §3): no credentials → 401 with a bare challenge; a wrong
 * token → 401 with `error="invalid_token"`. Compares SHA-256 digests with
 * timingSafeEqual, so neither the token's content nor its length leaks through timing.
 */
export function bearerGate(token: string): (headers: IncomingHttpHeaders) => Rejection | undefined {
  const expected = createHash('sha256').update(token).digest();
  return (headers) => {
    const auth = headers.authorization;
    const m = auth ? /^Bearer +([^\s]+) *$/i.exec(auth) : null;
    if (!m) {
      return {
        status: 401,
        message: 'Authorization required: send "Authorization: Bearer <token>" (the token is in SECOND_BRAIN_HTTP_TOKEN or the file the server printed at start).',
        headers: { 'www-authenticate': `Bearer realm="${REALM}"` },
      };
    }
    const given = createHash('sha256').update(m[1]!).digest();
    if (!timingSafeEqual(given, expected)) {
      return {
        status: 401,
        message: 'The bearer token is not valid for this server.',
        headers: { 'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="The bearer token is not valid for this server"` },
      };
    }
    return undefined;
  };
}
