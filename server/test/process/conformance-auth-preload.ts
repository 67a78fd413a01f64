/**
 * Loaded (--import) into the MCP conformance suite's process: gives every request it sends
 * to the server under test the `Authorization: Bearer` header, the way a client configured
 * with `--header` / `headers` does. The suite (0.1.16) has no option for request headers;
 * its SDK client goes through fetch and its raw checks through undici's request, and both
 * use undici's global dispatcher, so one interceptor there covers both.
 */
import { Agent, setGlobalDispatcher, type Dispatcher } from 'undici';

const origin = process.env.SB_CONFORMANCE_ORIGIN;
const token = process.env.SB_CONFORMANCE_TOKEN;
if (!origin || !token) throw new Error('SB_CONFORMANCE_ORIGIN and SB_CONFORMANCE_TOKEN must be set');

type Headers = Dispatcher.DispatchOptions['headers'];

function withAuth(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (Array.isArray(headers)) {
    // Either a flat [name, value, name, value] list or a list of pairs.
    if (headers.length && Array.isArray(headers[0])) for (const [k, v] of headers as unknown as [string, string][]) out[k] = v;
    else for (let i = 0; i + 1 < headers.length; i += 2) out[String(headers[i])] = headers[i + 1] as string;
  } else if (headers && typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of headers as Iterable<[string, string]>) out[k] = v;
  } else if (headers) {
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = v as string | string[];
  }
  for (const k of Object.keys(out)) if (k.toLowerCase() === 'authorization') delete out[k];
  out.authorization = `Bearer ${token}`;
  return out;
}

setGlobalDispatcher(new Agent().compose((dispatch) => (opts, handler) => {
  const target = opts.origin ? new URL(String(opts.origin)).origin : undefined;
  return dispatch(target === origin ? { ...opts, headers: withAuth(opts.headers) } : opts, handler);
}));
