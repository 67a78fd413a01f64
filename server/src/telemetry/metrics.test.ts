import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { threadCpuMs } from '../../../harness/src/reference/cpu-time.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AggregationTemporality, InMemoryMetricExporter, type MetricData } from '@opentelemetry/sdk-metrics';
import { InflightRegistry } from '../runtime/inflight.ts';
import {
  count429, countCircuitOpen, countRetry, countUpload, rateLimitHeadroom, recordGenAiDuration, recordTokenUsage,
  recordToolDuration, setRateLimitHeadroom,
} from './metrics.ts';
import { startTelemetry } from './start.ts';
import { patience } from '@second-brain/harness';

const home = mkdtempSync(join(tmpdir(), 'sb-metrics-'));
after(() => rmSync(home, { recursive: true, force: true }));

function all(exporter: InMemoryMetricExporter): Map<string, MetricData> {
  const out = new Map<string, MetricData>();
  for (const rm of exporter.getMetrics()) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m);
  return out;
}

describe('metrics', { timeout: patience(10_000) }, () => {
  test('without the SDK every function is a cheap no-op', () => {
    const t0 = threadCpuMs();
    for (let i = 0; i < 10_000; i++) {
      recordToolDuration('ask_o3', 1.5, 'SB_ERR_UPSTREAM_TIMEOUT');
      recordGenAiDuration('openai', 'o3', 1.2);
      recordTokenUsage('openai', 'o3', { input: 10, output: 2 });
      countRetry('openai'); count429('xai'); countCircuitOpen('gemini'); countUpload(3);
    }
    // 70 000 calls: a no-op costs well under a microsecond each.
    const took = threadCpuMs() - t0;
    assert.ok(took < 200, `70 000 no-op calls took ${took.toFixed(1)} ms of CPU`);
    setRateLimitHeadroom('openai', 12);
    assert.deepEqual(rateLimitHeadroom(), { openai: 12 });
    setRateLimitHeadroom('openai', undefined);
    assert.deepEqual(rateLimitHeadroom(), {});
  });

  test('with the SDK: instruments with units, gauges for in-flight phases and headroom, drop counters', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const registry = new InflightRegistry();
    const call = registry.start('ask_o3');
    registry.setPhase(call, 'upload');
    const telemetry = startTelemetry({ home, serviceVersion: '0.0.0-test', registry, env: { OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }, exporters: { metrics: exporter } });
    try {
      recordToolDuration('ask_o3', 12.5, 'SB_ERR_UPSTREAM_TIMEOUT');
      recordGenAiDuration('xai', 'grok-4', 3.2);
      recordTokenUsage('gemini', 'gemini-2.5-pro', { input: 1200, output: 300 });
      countRetry('openai'); countRetry('openai');
      count429('openai');
      countCircuitOpen('xai');
      countUpload(7);
      setRateLimitHeadroom('openai', 42);
      await telemetry.forceFlush(2_000);
      const m = all(exporter);

      const units: Record<string, string> = {
        'mcp.server.operation.duration': 's', 'gen_ai.client.operation.duration': 's', 'gen_ai.client.token.usage': '{token}',
        'second_brain.retries': '{retry}', 'second_brain.rate_limited': '{response}', 'second_brain.circuit.opens': '{event}',
        'second_brain.uploads': '{file}', 'second_brain.spans.dropped': '{span}', 'second_brain.logs.dropped': '{record}',
        'second_brain.inflight': '{call}', 'second_brain.ratelimit.headroom': '{request}',
      };
      for (const [name, unit] of Object.entries(units)) {
        assert.ok(m.has(name), `${name} exported`);
        assert.equal(m.get(name)!.descriptor.unit, unit, `${name} unit`);
      }
      const tool = m.get('mcp.server.operation.duration')!.dataPoints[0]!;
      assert.deepEqual(tool.attributes, { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'ask_o3', 'error.type': 'SB_ERR_UPSTREAM_TIMEOUT' });
      assert.equal((tool.value as { sum: number }).sum, 12.5);
      assert.equal(m.get('gen_ai.client.operation.duration')!.dataPoints[0]!.attributes['gen_ai.provider.name'], 'x_ai');
      const tokens = m.get('gen_ai.client.token.usage')!.dataPoints.map((d) => [d.attributes['gen_ai.token.type'], (d.value as { sum: number }).sum]);
      assert.deepEqual(tokens.sort(), [['input', 1200], ['output', 300]]);
      assert.equal(m.get('second_brain.retries')!.dataPoints[0]!.value, 2);
      assert.equal(m.get('second_brain.uploads')!.dataPoints[0]!.value, 7);
      const inflight = m.get('second_brain.inflight')!.dataPoints.map((d) => [d.attributes['second_brain.phase'], d.value]);
      assert.deepEqual(inflight, [['upload', 1]]);
      const headroom = m.get('second_brain.ratelimit.headroom')!.dataPoints.map((d) => [d.attributes['gen_ai.provider.name'], d.value]);
      assert.deepEqual(headroom, [['openai', 42]]);

      // A phase once seen drops to 0 rather than vanishing.
      registry.end(call);
      exporter.reset();
      await telemetry.forceFlush(2_000);
      assert.deepEqual(all(exporter).get('second_brain.inflight')!.dataPoints.map((d) => [d.attributes['second_brain.phase'], d.value]), [['upload', 0]]);
    } finally {
      await telemetry.shutdown(1_000);
      setRateLimitHeadroom('openai', undefined);
    }
    // After shutdown the functions are no-ops again.
    recordToolDuration('ask_o3', 1);
  });
});
