/**
 * Worker thread that owns the spec validators. Ajv's generated validators for the
 * Responses schemas are large: compiling them, and V8's lazy compile of each function
 * on first use, take tens to hundreds of milliseconds. An in-process fake shares the
 * event loop of the server under test, so that work runs here instead.
 */
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { validateRequest, validateResponse, warmValidators } from './oracle.ts';
import type { RequestToCheck, ResponseToCheck, SpecViolation } from './oracle.ts';

// On a busy machine the compile still competes for CPU with the process's main thread;
// Linux keeps nice values per thread, so this thread yields to the server under test.
// Nice 5, not 19: at 19 a CPU-bound neighbour (another job on the runner) starves it, and
// the fake becomes the bottleneck. KI-13-store-limit-fail-fast in-process, with a test
// suite and two busy loops beside it: 50-62 s at nice 19, 12.6 s at nice 5, 13.0 s at 0.
try {
  setPriority(5);
} catch {
  // Not permitted or not supported: validation still works, only less politely.
}

export type WorkerRequest =
  | { id: number; kind: 'request'; check: Omit<RequestToCheck, 'query'> & { query?: string } }
  | { id: number; kind: 'response'; check: Omit<ResponseToCheck, 'headers'> & { headers?: Record<string, string> } }
  | { id: number; kind: 'warm'; operations: Array<{ path: string; method: string }> };

export type WorkerReply = { id: number; violations: SpecViolation[] } | { id: number; error: string };

parentPort?.on('message', (msg: WorkerRequest) => {
  try {
    let violations: SpecViolation[] = [];
    if (msg.kind === 'request') violations = validateRequest({ ...msg.check, query: new URLSearchParams(msg.check.query ?? '') });
    else if (msg.kind === 'response') violations = validateResponse({ ...msg.check, headers: new Headers(msg.check.headers ?? {}) });
    else warmValidators(msg.operations);
    parentPort!.postMessage({ id: msg.id, violations } satisfies WorkerReply);
  } catch (error) {
    parentPort!.postMessage({ id: msg.id, error: (error as Error)?.stack ?? String(error) } satisfies WorkerReply);
  }
});
