/**
 * The worker side of `WorkerPool`: receives jobs one at a time, answers each once, and tells
 * the handler when the main thread has abandoned the job.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { PACE_SLICE_MS, type WorkerReply, type WorkerRequest } from './worker-pool.ts';

/** Niceness of context worker threads: background work yields the CPU to the event loop. */
const WORKER_NICENESS = 10;

export interface JobContext {
  /** True once the main thread gave up on this job; check it between items. */
  cancelled(): boolean;
  /**
   * Call between items: after PACE_SLICE_MS of work since the last pause, sleeps this thread
   * for the pause the pool's pacer asks for (none on an idle machine). Returns `cancelled()`.
   */
  pace(): boolean;
}

/** What a handler returns: the result, and buffers to move (not copy) back to the main thread. */
export interface JobOutput<R> { result: R; transfer?: ArrayBuffer[] }

/**
 * Serves jobs from the pool. On Linux the thread first lowers its own priority, so that
 * within the process the event-loop thread wins the CPU over it on a 2-core machine; contention
 * from other processes is the pool's pacer's business (see `worker-pool.ts`).
 */
export function serveJobs<J, R>(handler: (job: J, ctx: JobContext) => Promise<JobOutput<R>> | JobOutput<R>): void {
  lowerThreadPriority();
  const cancel = new Int32Array(workerData.cancel as SharedArrayBuffer);
  const pause = new Int32Array(workerData.pause as SharedArrayBuffer);
  const sleepCell = new Int32Array(new SharedArrayBuffer(4));
  let sliceStart = performance.now();
  let chain: Promise<void> = Promise.resolve();
  parentPort!.on('message', (req: WorkerRequest<J>) => {
    // The pool sends one job at a time per worker; the chain only guards against overlap
    // while a handler is still awaiting (loading a module, say).
    chain = chain.then(async () => {
      sliceStart = performance.now();
      const cancelled = () => Atomics.load(cancel, 0) === req.id;
      const ctx: JobContext = {
        cancelled,
        pace: () => {
          const now = performance.now();
          if (now - sliceStart >= PACE_SLICE_MS) {
            const us = Atomics.load(pause, 0);
            if (us > 0) Atomics.wait(sleepCell, 0, 0, us / 1000);
            sliceStart = performance.now();
          }
          return cancelled();
        },
      };
      let reply: WorkerReply<R>;
      let transfer: ArrayBuffer[] = [];
      try {
        const out = await handler(req.job, ctx);
        if (ctx.cancelled()) reply = { id: req.id, ok: false, cancelled: true };
        else {
          reply = { id: req.id, ok: true, result: out.result };
          transfer = out.transfer ?? [];
        }
      } catch (err) {
        reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
      }
      parentPort!.postMessage(reply, transfer);
    });
  });
}

function lowerThreadPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    // setpriority() with a thread id affects only that thread on Linux; /proc/thread-self names it.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, WORKER_NICENESS);
  } catch {
    // Best effort: without it the worker simply competes at normal priority.
  }
}
