import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../errors.ts';
import { captureContentEnabled, readTelemetryConfig, type OtlpTarget } from './telemetry.ts';
import { patience } from '@second-brain/harness';

const HOME = '/tmp/sb-home';

describe('telemetry configuration', { timeout: patience(5_000) }, () => {
  test('no endpoint: every signal goes to local files under <home>/telemetry', () => {
    const c = readTelemetryConfig({}, HOME);
    assert.deepEqual([c.traces.kind, c.metrics.kind, c.logs.kind], ['file', 'file', 'file']);
    assert.equal(c.files.dir, '/tmp/sb-home/telemetry');
    assert.equal(c.serviceName, 'second-brain');
    assert.deepEqual(c.sampler, { name: 'parentbased_always_on', ratio: 1 });
    assert.equal(c.disabled, false);
  });

  test('OTEL_EXPORTER_OTLP_ENDPOINT gets the signal paths; per-signal endpoints and protocols win', () => {
    const c = readTelemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://metrics.local:9000/custom',
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-team=sb,authorization=Basic%20abc',
      OTEL_EXPORTER_OTLP_TIMEOUT: '1500',
    }, HOME);
    const t = c.traces as OtlpTarget;
    assert.equal(t.url, 'http://127.0.0.1:4318/v1/traces');
    assert.equal(t.protocol, 'http/json');
    assert.equal(t.timeoutMs, 1500);
    assert.deepEqual(t.headers, { 'x-team': 'sb', authorization: 'Basic abc' });
    assert.equal((c.metrics as OtlpTarget).url, 'http://metrics.local:9000/custom');
    assert.equal((c.logs as OtlpTarget).url, 'http://127.0.0.1:4318/v1/logs');
    assert.equal((c.logs as OtlpTarget).protocol, 'http/protobuf');
  });

  test('only the traces endpoint set: metrics and logs stay in local files; exporter=none turns a signal off', () => {
    const c = readTelemetryConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces', OTEL_LOGS_EXPORTER: 'none' }, HOME);
    assert.equal(c.traces.kind, 'otlp');
    assert.equal(c.metrics.kind, 'file');
    assert.equal(c.logs.kind, 'none');
  });

  test('settings this server cannot honour are startup errors naming the variable and the accepted values', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL="grpc".*http\/protobuf or http\/json/],
      [{ OTEL_TRACES_EXPORTER: 'console' }, /OTEL_TRACES_EXPORTER="console".*stdout/],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT="localhost:4318"/],
      [{ OTEL_TRACES_SAMPLER: 'sometimes' }, /OTEL_TRACES_SAMPLER="sometimes".*always_on/],
      [{ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, /OTEL_TRACES_SAMPLER_ARG="2"/],
      [{ OTEL_BSP_MAX_QUEUE_SIZE: '-5' }, /OTEL_BSP_MAX_QUEUE_SIZE="-5"/],
      [{ SECOND_BRAIN_CAPTURE_CONTENT: 'maybe' }, /SECOND_BRAIN_CAPTURE_CONTENT="maybe".*true or false/],
      [{ OTEL_PROPAGATORS: 'b3' }, /OTEL_PROPAGATORS.*"b3"/],
      [{ OTEL_LOG_LEVEL: 'loud' }, /OTEL_LOG_LEVEL="loud"/],
    ];
    for (const [env, message] of bad) {
      assert.throws(() => readTelemetryConfig(env, HOME), (err: { code?: string; message: string }) => {
        assert.equal(err.code, ErrorCode.CONFIG);
        assert.match(err.message, message);
        return true;
      }, JSON.stringify(env));
    }
  });

  test('service name, resource attributes, sampler and disabling come from the standard variables', () => {
    const c = readTelemetryConfig({
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=dev,service.name=from-attrs',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_SDK_DISABLED: 'true',
    }, HOME);
    assert.equal(c.serviceName, 'from-attrs');
    assert.equal(c.resourceAttributes['deployment.environment.name'], 'dev');
    assert.deepEqual(c.sampler, { name: 'parentbased_traceidratio', ratio: 0.25 });
    assert.equal(c.disabled, true);
    assert.equal(readTelemetryConfig({ OTEL_SERVICE_NAME: 'sb-dev', OTEL_RESOURCE_ATTRIBUTES: 'service.name=x' }, HOME).serviceName, 'sb-dev');
  });

  test('content capture is opt-in', () => {
    assert.equal(readTelemetryConfig({}, HOME).captureContent, false);
    assert.equal(readTelemetryConfig({ SECOND_BRAIN_CAPTURE_CONTENT: 'true' }, HOME).captureContent, true);
    const before = process.env.SECOND_BRAIN_CAPTURE_CONTENT;
    try {
      delete process.env.SECOND_BRAIN_CAPTURE_CONTENT;
      assert.equal(captureContentEnabled(), false);
      process.env.SECOND_BRAIN_CAPTURE_CONTENT = 'true';
      assert.equal(captureContentEnabled(), true);
    } finally {
      if (before === undefined) delete process.env.SECOND_BRAIN_CAPTURE_CONTENT;
      else process.env.SECOND_BRAIN_CAPTURE_CONTENT = before;
    }
  });
});
