/**
 * The collector and compose files parse, use the current component names, and wire every
 * pipeline to components that exist. When a Docker engine runs and the collector image is
 * present, the collector itself validates the configuration.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { patience } from '@second-brain/harness';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const configText = readFileSync(`${ROOT}otel-collector/config.yaml`, 'utf8');
const config = parse(configText) as Record<string, any>;
const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8')) as Record<string, any>;
const run = promisify(execFile);

describe('otel-collector/config.yaml and docker-compose.yml', { timeout: patience(60_000) }, () => {
  test('the collector config names the required components with their current names', () => {
    assert.equal(config.receivers.otlp.protocols.grpc.endpoint, '0.0.0.0:4317');
    assert.equal(config.receivers.otlp.protocols.http.endpoint, '0.0.0.0:4318');
    assert.ok(config.processors.memory_limiter);
    assert.ok(config.processors.batch);
    assert.ok(config.connectors.span_metrics);
    assert.equal(config.exporters['otlp_grpc/jaeger'].endpoint, 'jaeger:4317');
    assert.ok(config.exporters.prometheus.endpoint);
    assert.ok(config.exporters.debug);
    // Deprecated aliases are not used for active components.
    for (const section of ['receivers', 'processors', 'exporters', 'connectors']) {
      for (const id of Object.keys(config[section] ?? {})) {
        assert.doesNotMatch(id, /^(otlp\/|otlphttp|spanmetrics|otlpjsonfile)/, `${section}.${id} uses a deprecated name`);
      }
    }
    // The replay receivers are documented, commented out.
    assert.match(configText, /^\s*# otlp_json_file\/traces:\n\s*#\s+include: \[\/replay\/traces-\*\.jsonl\]/m);
  });

  test('every pipeline uses defined components; span_metrics links traces to metrics; memory_limiter runs first', () => {
    const pipelines = config.service.pipelines as Record<string, { receivers: string[]; processors: string[]; exporters: string[] }>;
    assert.deepEqual(Object.keys(pipelines).sort(), ['logs', 'metrics', 'traces']);
    for (const [name, p] of Object.entries(pipelines)) {
      for (const r of p.receivers) assert.ok(config.receivers[r] ?? config.connectors[r], `${name}: receiver ${r} defined`);
      for (const x of p.processors) assert.ok(config.processors[x], `${name}: processor ${x} defined`);
      for (const e of p.exporters) assert.ok(config.exporters[e] ?? config.connectors[e], `${name}: exporter ${e} defined`);
      assert.equal(p.processors[0], 'memory_limiter', `${name}: memory_limiter first`);
    }
    assert.ok(pipelines.traces!.exporters.includes('otlp_grpc/jaeger'));
    assert.ok(pipelines.traces!.exporters.includes('span_metrics'));
    assert.ok(pipelines.metrics!.receivers.includes('span_metrics'));
    assert.ok(pipelines.metrics!.exporters.includes('prometheus'));
    assert.ok(pipelines.logs!.exporters.includes('debug'));
    for (const ext of config.service.extensions) assert.ok(config.extensions[ext]);
  });

  test('docker-compose runs the contrib collector and Jaeger v2 with the UI on 16686', () => {
    const { 'otel-collector': collector, jaeger, prometheus } = compose.services;
    assert.match(collector.image, /^otel\/opentelemetry-collector-contrib:\d+\.\d+\.\d+$/);
    assert.match(jaeger.image, /^jaegertracing\/jaeger:2\.\d+\.\d+$/);
    assert.ok(collector.ports.some((p: string) => p.startsWith('127.0.0.1:4318:4318')));
    assert.ok(jaeger.ports.some((p: string) => p.startsWith('127.0.0.1:16686:16686')));
    assert.deepEqual(prometheus.profiles, ['metrics']);
    for (const v of [...collector.volumes, ...prometheus.volumes] as string[]) {
      const src = v.split(':')[0]!;
      if (src.startsWith('./')) assert.ok(existsSync(`${ROOT}${src.slice(2)}`), `${src} exists`);
    }
  });

  test('the collector validates the config (needs a Docker engine and the image)', async (t) => {
    const image = compose.services['otel-collector'].image as string;
    try {
      await run('docker', ['info'], { timeout: patience(10_000) });
    } catch {
      t.skip('no Docker engine running (`docker info` failed)');
      return;
    }
    try {
      await run('docker', ['image', 'inspect', image], { timeout: patience(10_000) });
    } catch {
      t.skip(`${image} is not pulled; \`docker pull ${image}\` to enable this check`);
      return;
    }
    const { stdout, stderr } = await run('docker', [
      'run', '--rm', '-v', `${ROOT}otel-collector/config.yaml:/cfg/config.yaml:ro`, image, 'validate', '--config=/cfg/config.yaml',
    ], { timeout: patience(45_000) });
    assert.doesNotMatch(`${stdout}${stderr}`, /error/i);
  });
});
