import { applyAccountChange } from './account.ts';
import { jsonResponse } from './errors.ts';
import type { FakeApi } from './fake-api.ts';
import type { FaultRule } from './fault-types.ts';
import type { SeedFile, SeedVectorStore } from './seed.ts';

/**
 * The control API a driver in another process uses to watch and steer a fake: read the
 * journal and state, add or clear faults, change the account, seed state. It speaks
 * fetch `Request`/`Response`, so the preload's control server and the loopback server
 * (under `/_control`) share it.
 *
 * | Method and path            | Body / query                                    | Answer                        |
 * |----------------------------|-------------------------------------------------|-------------------------------|
 * | GET    /health             |                                                 | `{ok: true}`                  |
 * | GET    /journal            | `?since=<id>`                                   | `{entries, dropped}`          |
 * | DELETE /journal            |                                                 | `{ok: true}`                  |
 * | GET    /state              |                                                 | state snapshot                |
 * | GET    /faults             |                                                 | `{faults: [{id, rule, matched, applied}]}` |
 * | POST   /faults             | a rule, a list, or `{rules, replace?}`          | `{ids}`                       |
 * | DELETE /faults             |                                                 | `{ok: true}`                  |
 * | DELETE /faults/{id}        |                                                 | `{removed}`                   |
 * | GET    /account            | `?key=<api key>`                                | `{limits, windows, bucket?}`  |
 * | POST   /account            | `{limits?, throttle?, clearThrottle?, reset?, drain?}` | `{limits, windows}`           |
 * | POST   /seed               | `{files?, vectorStores?: [{count?, …}]}`        | `{fileIds, vectorStoreIds}`   |
 * | POST   /settings           | partial settings (`storeLimit`, …)              | `{settings}`                  |
 * | POST   /forget-response    | `{id}`                                          | `{forgotten}`                 |
 */

/** Extra control routes a transport adds (the loopback server adds `/connections`). */
export type ControlExtension = (method: string, path: string, body: unknown) => Response | undefined | Promise<Response | undefined>;

export async function handleControlRequest(fake: FakeApi, request: Request, path: string, extension?: ControlExtension): Promise<Response> {
  const method = request.method.toUpperCase();
  const url = new URL(request.url);
  let body: unknown;
  if (method === 'POST') {
    const text = await request.text();
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      return controlError(400, 'Body must be JSON.');
    }
  }
  try {
    const extended = await extension?.(method, path, body);
    if (extended) return extended;
    return route(fake, method, path, url, body) ?? controlError(404, `No control endpoint ${method} ${path}.`);
  } catch (error) {
    return controlError(400, (error as Error).message);
  }
}

function route(fake: FakeApi, method: string, path: string, url: URL, body: unknown): Response | undefined {
  const b = (body ?? {}) as Record<string, unknown>;
  switch (`${method} ${path}`) {
    case 'GET /health':
      return jsonResponse({ ok: true });
    case 'GET /journal': {
      const since = Number(url.searchParams.get('since') ?? 0);
      return jsonResponse({ entries: fake.journal.since(Number.isFinite(since) ? since : 0), dropped: fake.journal.dropped });
    }
    case 'DELETE /journal':
      fake.journal.clear();
      return jsonResponse({ ok: true });
    case 'GET /state':
      return jsonResponse(fake.state.snapshot());
    case 'GET /faults':
      return jsonResponse({ faults: fake.faults.list() });
    case 'POST /faults': {
      const rules = (Array.isArray(body) ? body : Array.isArray(b.rules) ? b.rules : [body]) as FaultRule[];
      if (b.replace === true) fake.faults.clear();
      return jsonResponse({ ids: fake.faults.addAll(rules) });
    }
    case 'DELETE /faults':
      fake.faults.clear();
      return jsonResponse({ ok: true });
    case 'GET /account': {
      const key = url.searchParams.get('key');
      return jsonResponse({ limits: fake.account.limits(), windows: fake.account.windows(), bucket: key ? fake.account.peek(key) : undefined });
    }
    case 'POST /account': {
      applyAccountChange(fake.account, b);
      return jsonResponse({ limits: fake.account.limits(), windows: fake.account.windows() });
    }
    case 'POST /seed': {
      const fileIds = ((b.files ?? []) as SeedFile[]).map((f) => fake.seed.file(f).id);
      const vectorStoreIds = ((b.vectorStores ?? []) as Array<SeedVectorStore & { count?: number }>).flatMap(({ count, ...init }) =>
        fake.seed.vectorStores(count ?? 1, init).map((s) => s.id),
      );
      return jsonResponse({ fileIds, vectorStoreIds });
    }
    case 'POST /settings':
      fake.configure(b);
      return jsonResponse({ settings: fake.settings });
    case 'POST /forget-response':
      return jsonResponse({ forgotten: fake.state.forgetResponse(String(b.id)) });
    default:
      break;
  }
  if (method === 'DELETE' && path.startsWith('/faults/')) return jsonResponse({ removed: fake.faults.remove(path.slice('/faults/'.length)) });
  return undefined;
}

function controlError(status: number, message: string): Response {
  return jsonResponse({ error: { message, type: 'control_error', param: null, code: null } }, status);
}
