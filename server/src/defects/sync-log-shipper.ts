/**
 * `blocking-telemetry-export` (KI-09, KI-21): a log shipper for the telemetry seam
 * (StartTelemetryOptions.logShipper), passed by defects/seams.ts when the switch is on.
 *
 * Reintroduces the first version's log handler: each record is POSTed to the log
 * endpoint and the logging call waits for the answer, on the event loop. Node has no
 * synchronous HTTP client, so a helper thread sends the request and the event loop parks
 * on Atomics.wait until it answers, fails, or `timeoutMs` passes. A slow or hung collector
 * then stalls every log call, wherever it happens to be made.
 */
import { Worker } from 'node:worker_threads';
import { addLogSink } from '../logging/logger.ts';
import { OTEL_COMPONENT } from '../telemetry/diag.ts';
import type { LogShipper } from '../telemetry/start.ts';

const SENDER = `
const { parentPort, workerData } = require('node:worker_threads');
parentPort.on('message', async ({ body, shared }) => {
  const flag = new Int32Array(shared);
  try {
    const res = await fetch(workerData.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(workerData.timeoutMs) });
    await res.arrayBuffer();
  } catch {}
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});`;

/** Starts shipping every log record synchronously to `url` (OTLP/HTTP JSON logs); returns the remover. */
export const syncLogShipper: LogShipper = (url, timeoutMs) => {
  const worker = new Worker(SENDER, { eval: true, workerData: { url, timeoutMs } });
  worker.unref();
  const remove = addLogSink((rec) => {
    if (rec.component === OTEL_COMPONENT) return;
    const body = JSON.stringify({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ severityText: String(rec.level ?? ''), body: { stringValue: String(rec.msg ?? '') } }] }] }],
    });
    const shared = new SharedArrayBuffer(4);
    worker.postMessage({ body, shared });
    Atomics.wait(new Int32Array(shared), 0, 0, timeoutMs + 1_000);
  });
  return () => {
    remove();
    void worker.terminate();
  };
};
