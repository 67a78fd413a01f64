/**
 * The spec validators, run on one worker thread shared by every fake in the process (see
 * `worker.ts` for why). Each call posts the body and awaits the violations. The worker
 * keeps the process alive only while a check is pending (an in-process fake has no other
 * handle open while it waits), and is started on first use.
 */
import { Worker } from 'node:worker_threads';
import type { RequestToCheck, ResponseToCheck, SpecViolation } from './oracle.ts';
import type { WorkerReply, WorkerRequest } from './worker.ts';

type Pending = { resolve: (v: SpecViolation[]) => void; reject: (e: Error) => void; keepsAlive: boolean };
type Check = WorkerRequest extends infer R ? R extends { id: number } ? Omit<R, 'id'> : never : never;

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();
/** Pending checks that keep the process alive (a warm-up does not). */
let keepingAlive = 0;

function settle(p: Pending): void {
  if (p.keepsAlive && --keepingAlive === 0) worker?.unref();
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./worker.ts', import.meta.url));
  w.unref();
  w.on('message', (reply: WorkerReply) => {
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    settle(p);
    if ('error' in reply) p.reject(new Error(`spec validator failed: ${reply.error}`));
    else p.resolve(reply.violations);
  });
  const fail = (error: Error) => {
    worker = undefined;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    keepingAlive = 0;
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`spec validator worker exited with code ${code}`)));
  worker = w;
  return w;
}

function post(check: Check, keepsAlive = true): Promise<SpecViolation[]> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, keepsAlive });
    const w = ensureWorker();
    if (keepsAlive && ++keepingAlive === 1) w.ref();
    w.postMessage({ id, ...check });
  });
}

/**
 * Starts the worker and compiles the validators of `operations` on it now, so the first
 * check of each route does not pay for the worker's start and the compile inside a request
 * the server under test waits for (oracle.ts `warmValidators`). Checks posted meanwhile
 * queue behind it. It does not keep the process alive.
 */
export function warmValidatorsOffThread(operations: ReadonlyArray<{ path: string; method: string }>): Promise<void> {
  return post({ kind: 'warm', operations: operations.map(({ path, method }) => ({ path, method })) }, false).then(() => {});
}

export function validateRequestOffThread(req: RequestToCheck): Promise<SpecViolation[]> {
  const { query, ...rest } = req;
  return post({ kind: 'request', check: { ...rest, query: query?.toString() } });
}

export function validateResponseOffThread(res: ResponseToCheck): Promise<SpecViolation[]> {
  const { headers, ...rest } = res;
  return post({ kind: 'response', check: { ...rest, headers: headers ? Object.fromEntries(headers) : undefined } });
}

