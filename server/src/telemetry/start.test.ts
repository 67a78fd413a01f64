import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { ErrorCode } from '../errors.ts';
import { createLogger, setLogger } from '../logging/logger.ts';
import { withSpan } from './spans.ts';
import { startTelemetry } from './start.ts';
import { patience } from '@second-brain/harness';

const home = mkdtempSync(join(tmpdir(), 'sb-start-'));
after(() => rmSync(home, { recursive: true, force: true }));
setLogger(createLogger({ level: 'info', destination: { write: () => true } }));

describe('startTelemetry', { timeout: patience(10_000) }, () => {
  test('OTEL_SDK_DISABLED=true: no SDK, spans are no-ops, the watchdog still runs', async () => {
    const t = startTelemetry({ home, serviceVersion: '0', env: { OTEL_SDK_DISABLED: 'true' } });
    try {
      assert.equal(t.enabled, false);
      assert.deepEqual(t.destinations, { traces: 'none', metrics: 'none', logs: 'none' });
      assert.equal(t.watchdog.running, true);
      await withSpan('tools/call x', {}, async (span) => assert.equal(span.isRecording(), false));
    } finally {
      await t.shutdown(500);
    }
    assert.equal(t.watchdog.running, false);
  });

  test('a second start is refused; after shutdown it can start again; shutdown is idempotent', async () => {
    const t = startTelemetry({ home, serviceVersion: '0', env: {} });
    assert.throws(() => startTelemetry({ home, serviceVersion: '0', env: {} }), (e: { code?: string }) => e.code === ErrorCode.CONFIG);
    await withSpan('tools/call y', {}, async (span) => assert.equal(span.isRecording(), true));
    const a = t.shutdown(500);
    assert.equal(t.shutdown(500), a);
    await a;
    assert.equal(trace.getTracer('x').startSpan('after').isRecording(), false, 'globals are released');
    const again = startTelemetry({ home, serviceVersion: '0', env: {} });
    await again.shutdown(500);
  });

  test('OTEL_TRACES_SAMPLER is honoured', async () => {
    const t = startTelemetry({ home, serviceVersion: '0', env: { OTEL_TRACES_SAMPLER: 'always_off' } });
    try {
      await withSpan('tools/call sampled-out', {}, async (span) => assert.equal(span.isRecording(), false));
    } finally {
      await t.shutdown(500);
    }
  });

  test('an invalid setting fails the start with the variable named, before anything is installed', () => {
    assert.throws(() => startTelemetry({ home, serviceVersion: '0', env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317' } }), /OTEL_EXPORTER_OTLP_PROTOCOL/);
    const t = startTelemetry({ home, serviceVersion: '0', env: {} });
    return t.shutdown(500);
  });

  test('shutdown resolves at its deadline when an exporter never answers, and counts what it cut off', async () => {
    const hung: SpanExporter = { export(_s: unknown, _done: (r: ExportResult) => void) {}, shutdown: () => new Promise(() => {}) };
    const t = startTelemetry({ home, serviceVersion: '0', env: { OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_BSP_EXPORT_TIMEOUT: '200' }, exporters: { spans: hung } });
    for (let i = 0; i < 30; i++) await withSpan(`tools/call s${i}`, {}, async () => {});
    const t0 = performance.now();
    await t.shutdown(300);
    const took = performance.now() - t0;
    assert.ok(took >= 290 && took < 500, `shutdown took ${took} ms for a 300 ms deadline`);
    assert.equal(t.dropped().spans, 30);
  });
});
