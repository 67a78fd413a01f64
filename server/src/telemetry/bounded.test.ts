/**
 * KI-21: export queues stay bounded and drop with a count, whatever the exporter does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { threadCpuMs } from '../../../harness/src/reference/cpu-time.ts';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { registerSecret } from '../logging/redact.ts';
import { BoundedBatchLogRecordProcessor, BoundedBatchSpanProcessor, DropCounters } from './bounded.ts';
import { patience } from '@second-brain/harness';

const settings = { maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMs: 5, exportTimeoutMs: 100 };

/** An exporter that takes every batch and never answers (a hung collector behind it) until released. */
function hungExporter(): SpanExporter & LogRecordExporter & { batches: number; release(): void } {
  const pending: Array<(r: ExportResult) => void> = [];
  let released = false;
  const failed = { code: ExportResultCode.FAILED, error: new Error('collector timed out') };
  return {
    batches: 0,
    export(_items: unknown[], done: (r: ExportResult) => void) {
      this.batches++;
      if (released) done(failed);
      else pending.push(done);
    },
    release() {
      released = true;
      for (const done of pending.splice(0)) done(failed);
    },
    shutdown: async () => {},
    forceFlush: async () => {},
  };
}

describe('bounded export paths', { timeout: patience(10_000) }, () => {
  test('spans: a hung exporter costs at most the queue bound; the rest is dropped and counted', async () => {
    const drops = new DropCounters();
    const exporter = hungExporter();
    const processor = new BoundedBatchSpanProcessor(exporter, settings, drops);
    const provider = new TracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('t');
    const t0 = threadCpuMs();
    for (let i = 0; i < 5_000; i++) tracer.startSpan(`s${i}`).end();
    const elapsed = threadCpuMs() - t0;
    await new Promise((r) => setTimeout(r, 50));
    // The first full batch went to the exporter and never came back; the queue holds the
    // bound; everything else was refused at once, and counted.
    assert.equal(exporter.batches, 1);
    assert.equal(processor.queued, settings.maxQueueSize);
    assert.equal(drops.spansQueueFull, 5_000 - settings.maxQueueSize - settings.maxExportBatchSize);
    assert.equal(drops.spans, drops.spansQueueFull);
    assert.ok(elapsed < 1_000, `ending 5 000 spans took ${elapsed.toFixed(1)} ms of CPU`);
    processor.abandon();
    assert.equal(drops.spans, 5_000, 'abandoning counts the queued and in-flight spans too');
    exporter.release();
    await provider.shutdown().catch(() => {});
    assert.equal(drops.spans, 5_000, 'late failures of abandoned exports are not counted twice');
  });

  test('spans: failed exports are counted; spans are redacted on the way out', async () => {
    registerSecret('bounded-secret-31337');
    const drops = new DropCounters();
    const seen: ReadableSpan[] = [];
    let fail = true;
    const exporter: SpanExporter = {
      export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
        seen.push(...spans);
        done(fail ? { code: ExportResultCode.FAILED, error: new Error('collector down') } : { code: ExportResultCode.SUCCESS });
      },
      shutdown: async () => {},
    };
    const processor = new BoundedBatchSpanProcessor(exporter, settings, drops);
    const provider = new TracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('t');
    for (let i = 0; i < 25; i++) tracer.startSpan('leaky', { attributes: { note: 'token bounded-secret-31337 here' } }).end();
    await processor.forceFlush().catch(() => {});
    assert.equal(drops.spansExportFailed, 25);
    fail = false;
    tracer.startSpan('fine').end();
    await processor.forceFlush();
    assert.equal(drops.spansExportFailed, 25);
    assert.ok(seen.every((s) => !JSON.stringify(s.attributes).includes('bounded-secret-31337')));
    assert.equal(seen[0]!.attributes.note, 'token [redacted] here');
  });

  test('logs: the same bound and count', async () => {
    const drops = new DropCounters();
    const exporter = hungExporter();
    const processor = new BoundedBatchLogRecordProcessor(exporter, settings, drops);
    const provider = new LoggerProvider({ processors: [processor] });
    const logger = provider.getLogger('t');
    for (let i = 0; i < 1_000; i++) logger.emit({ body: `line ${i}` });
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(processor.queued <= settings.maxQueueSize, `queued ${processor.queued}`);
    assert.ok(drops.logsQueueFull >= 1_000 - settings.maxQueueSize - settings.maxExportBatchSize, `dropped ${drops.logsQueueFull}`);
    processor.abandon();
    assert.equal(drops.logs, 1_000);
    exporter.release();
    await provider.shutdown().catch(() => {});
    assert.equal(drops.logs, 1_000);
  });
});
