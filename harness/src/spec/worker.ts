/**
 * Worker thread that owns the spec validators. Ajv's generated validators for the
 * Responses schemas are large: compiling them, and V8's lazy compile of each function
 * on first use, take tens to hundreds of milliseconds. An in-process fake shares the
 * event loop of the server under test, so that work runs here instead.
 */
import { parentPort } from 'node:worker_threads';
import { validateRequest, validateResponse, warmUpValidators } from './oracle.ts';
import type { RequestToCheck, ResponseToCheck, SpecViolation } from './oracle.ts';

export type WorkerRequest =
  | { id: number; kind: 'request'; check: Omit<RequestToCheck, 'query'> & { query?: string } }
  | { id: number; kind: 'response'; check: Omit<ResponseToCheck, 'headers'> & { headers?: Record<string, string> } }
  | { id: number; kind: 'warm-up'; only?: Array<{ path: string; method: string }> };

export type WorkerReply = { id: number; violations: SpecViolation[] } | { id: number; error: string };

/**
 * Warm-up compiles one operation per turn of this thread's loop, so a check that arrives
 * meanwhile is answered between two operations instead of waiting for all of them.
 */
function warmUpInSteps(id: number, ops: Array<{ path: string; method: string }>): void {
  const step = (i: number) => {
    if (i >= ops.length) {
      parentPort!.postMessage({ id, violations: [] } satisfies WorkerReply);
      return;
    }
    try {
      warmUpValidators([ops[i]!]);
    } catch {
      // A schema that fails to compile is reported by the first check that needs it.
    }
    setImmediate(step, i + 1);
  };
  step(0);
}

parentPort?.on('message', (msg: WorkerRequest) => {
  try {
    let violations: SpecViolation[] = [];
    if (msg.kind === 'warm-up') return warmUpInSteps(msg.id, msg.only ?? []);
    if (msg.kind === 'request') violations = validateRequest({ ...msg.check, query: new URLSearchParams(msg.check.query ?? '') });
    else violations = validateResponse({ ...msg.check, headers: new Headers(msg.check.headers ?? {}) });
    parentPort!.postMessage({ id: msg.id, violations } satisfies WorkerReply);
  } catch (error) {
    parentPort!.postMessage({ id: msg.id, error: (error as Error)?.stack ?? String(error) } satisfies WorkerReply);
  }
});
