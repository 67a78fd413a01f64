/**
 * KI-20 (and KI-09/KI-10/KI-21, whose hangs were all a blocked loop): when something
 * blocks the event loop, the server says so — a warn log record naming what was in flight
 * and in which phase, a `second_brain.loop.blocked` event on every span open at the time,
 * a `loop.blocked` span, a stall count in the watchdog snapshot and the metric.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { AggregationTemporality, InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { addLogSink, createLogger, setLogger } from '../../src/logging/logger.ts';
import { InflightRegistry } from '../../src/runtime/inflight.ts';
import { SpanKind, startTelemetry, testBlockLoop, withSpan, type Telemetry } from '../../src/telemetry/index.ts';
import { patience } from '@second-brain/harness';

const spans = new InMemorySpanExporter();
const metricsOut = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const registry = new InflightRegistry();
const records: Array<Record<string, unknown>> = [];
let telemetry: Telemetry;
let home: string;
let removeSink: () => void;

before(() => {
  process.env.SECOND_BRAIN_TEST_HOOKS = '1';
  home = mkdtempSync(join(tmpdir(), 'sb-ki20-'));
  setLogger(createLogger({ level: 'info', destination: { write: () => true } }));
  removeSink = addLogSink((r) => { records.push(r); });
  telemetry = startTelemetry({
    home, serviceVersion: '0.0.0-test', registry,
    env: { OTEL_BSP_SCHEDULE_DELAY: '50' },
    exporters: { spans, metrics: metricsOut },
  });
});

after(async () => {
  removeSink();
  await telemetry.shutdown(1_000);
  rmSync(home, { recursive: true, force: true });
});

test('KI-20: a 300 ms block is logged with the in-flight operation and phase, and marked on the open spans', { timeout: patience(10_000) }, async () => {
  const call = registry.start('ask_gemini');
  registry.setPhase(call, 'provider');
  const other = registry.start('ask_o3');
  registry.setPhase(other, 'poll');
  await withSpan('tools/call ask_gemini', { kind: SpanKind.SERVER }, async () => {
    await withSpan('chat gemini-2.5-pro', { kind: SpanKind.CLIENT }, async () => {
      await new Promise((r) => setTimeout(r, 60));
      testBlockLoop(300);
      await new Promise((r) => setTimeout(r, 60));
    });
  });
  registry.end(call);
  registry.end(other);

  const log = records.find((r) => r.event === 'loop.blocked' && (r.inflight as unknown[]).length === 2);
  assert.ok(log, 'warn record from the watchdog');
  assert.equal(log.level, 40);
  assert.match(String(log.msg), /ask_gemini \(phase provider/);
  assert.match(String(log.msg), /ask_o3 \(phase poll/);
  const inflight = log.inflight as Array<{ tool: string; phase: string }>;
  assert.deepEqual(inflight.map((c) => `${c.tool}:${c.phase}`).sort(), ['ask_gemini:provider', 'ask_o3:poll']);

  await telemetry.forceFlush(2_000);
  const finished = spans.getFinishedSpans();
  for (const name of ['tools/call ask_gemini', 'chat gemini-2.5-pro']) {
    const span = finished.find((s) => s.name === name)!;
    const event = span.events.find((e) => e.name === 'second_brain.loop.blocked');
    assert.ok(event, `${name} carries the loop.blocked event`);
    assert.ok(Number(event.attributes?.['second_brain.loop.blocked_ms']) >= 250);
    assert.deepEqual((event.attributes?.['second_brain.loop.inflight'] as string[]).sort(), ['ask_gemini:provider', 'ask_o3:poll']);
  }
  const blocked = finished.find((s) => s.name === 'loop.blocked');
  assert.ok(blocked, 'a loop.blocked span covering the stall');
  assert.ok(blocked.links.length >= 2, 'linked to the spans it held up');
  const lengthMs = (blocked.endTime[0] - blocked.startTime[0]) * 1e3 + (blocked.endTime[1] - blocked.startTime[1]) / 1e6;
  assert.ok(lengthMs >= 250, `loop.blocked span lasts ${lengthMs} ms`);

  // At least this stall (a loaded machine can add its own).
  const snap = telemetry.watchdog.snapshot();
  assert.ok(snap.stalls >= 1);

  const stalls = metricsOut.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics)).filter((m) => m.descriptor.name === 'second_brain.loop.stalls');
  assert.ok(stalls.length > 0, 'second_brain.loop.stalls exported');
  assert.ok(Number(stalls.at(-1)!.dataPoints.at(-1)!.value) >= 1);
});
