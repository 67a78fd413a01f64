/**
 * End to end over real OTLP/HTTP: a child process starts telemetry pointed at a receiver
 * on 127.0.0.1 (OTEL_EXPORTER_OTLP_ENDPOINT), makes traced calls with fetch and logs, and
 * shuts down. The receiver must get traces, metrics and logs, in http/json and in
 * http/protobuf, with the HTTP CLIENT spans parented under the call, log records carrying
 * the trace id, no API key anywhere, and nothing but the fixture's own result on stdout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFixture, startEcho, startReceiver, type Closable, type Received } from './helpers.ts';
import { patience } from '@second-brain/harness';

const TIMEOUT_MS = patience(30_000);
let echo: Closable;
let home: string;

before(async () => {
  echo = await startEcho();
  home = mkdtempSync(join(tmpdir(), 'sb-otlp-'));
});
after(async () => {
  await echo.close();
  rmSync(home, { recursive: true, force: true });
});

async function run(protocol: 'http/json' | 'http/protobuf'): Promise<{ received: Received[]; stdout: string; childHome: string }> {
  const receiver = await startReceiver();
  const childHome = join(home, protocol.replace('/', '-'));
  try {
    const r = await runFixture('workload-child.ts', {
      WORKLOAD_TELEMETRY: 'on',
      WORKLOAD_ECHO_URL: echo.url,
      WORKLOAD_HOME: childHome,
      WORKLOAD_OPS: '5', WORKLOAD_REPEATS: '1', WORKLOAD_WARMUP_OPS: '0',
      WORKLOAD_SHUTDOWN_DEADLINE_MS: '5000',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,service.namespace=sb',
      // Every SDK diagnostic on: none of it may reach stdout.
      OTEL_LOG_LEVEL: 'all',
    }, 20_000);
    assert.equal(r.code, 0, r.stderrTail);
    return { received: [...receiver.received], stdout: r.stdout, childHome };
  } finally {
    await receiver.close();
  }
}

type KV = { key: string; value: Record<string, unknown> };
type Json = Record<string, any>;

function spansOf(received: Received[]): Json[] {
  return received.filter((r) => r.path === '/v1/traces')
    .flatMap((r) => (JSON.parse(r.body.toString()) as Json).resourceSpans.flatMap((rs: Json) => rs.scopeSpans.flatMap((ss: Json) => ss.spans)));
}
function attr(list: KV[] | undefined, key: string): unknown {
  const v = list?.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
}

describe('OTLP/HTTP export to a real receiver', { timeout: TIMEOUT_MS }, () => {
  test('http/json: traces, metrics and logs arrive, correlated, with no secret, and stdout stays clean', async () => {
    const { received, stdout, childHome } = await run('http/json');
    assert.ok(received.every((r) => r.contentType.startsWith('application/json')), 'JSON content type');
    const paths = new Set(received.map((r) => r.path));
    for (const p of ['/v1/traces', '/v1/metrics', '/v1/logs']) assert.ok(paths.has(p), `${p} received`);

    const spans = spansOf(received);
    const roots = spans.filter((s) => s.name === 'tools/call ask_test');
    assert.equal(roots.length, 5);
    const chat = spans.find((s) => s.name === 'chat test-model' && s.parentSpanId === roots[0]!.spanId);
    assert.ok(chat, 'chat span under the tool call');
    const http = spans.find((s) => s.kind === 3 && s.parentSpanId === chat.spanId);
    assert.ok(http, 'undici CLIENT span under the chat span');
    assert.equal(http.name, 'POST');
    assert.equal(attr(http.attributes, 'http.response.status_code'), 200);
    assert.equal(attr(http.attributes, 'second_brain.ratelimit.remaining_requests'), '99');

    const metricNames = new Set(received.filter((r) => r.path === '/v1/metrics')
      .flatMap((r) => (JSON.parse(r.body.toString()) as Json).resourceMetrics.flatMap((rm: Json) => rm.scopeMetrics.flatMap((sm: Json) => sm.metrics.map((m: Json) => m.name)))));
    for (const n of ['mcp.server.operation.duration', 'gen_ai.client.operation.duration', 'gen_ai.client.token.usage',
      'http.client.request.duration', 'second_brain.retries', 'second_brain.spans.dropped', 'second_brain.logs.dropped', 'nodejs.eventloop.utilization']) {
      assert.ok(metricNames.has(n), `metric ${n} received (got ${[...metricNames].join(', ')})`);
    }

    const logs = received.filter((r) => r.path === '/v1/logs')
      .flatMap((r) => (JSON.parse(r.body.toString()) as Json).resourceLogs.flatMap((rl: Json) => rl.scopeLogs.flatMap((sl: Json) => sl.logRecords)));
    const finished = logs.filter((l) => l.body?.stringValue === 'call finished');
    assert.equal(finished.length, 5);
    const rootTraceIds = new Set(roots.map((s) => s.traceId));
    assert.ok(finished.every((l) => rootTraceIds.has(l.traceId)), 'each log record carries its call\'s trace id');
    assert.equal(attr(finished[0]!.attributes, 'tool'), 'ask_test');

    const resource = (JSON.parse(received.find((r) => r.path === '/v1/traces')!.body.toString()) as Json).resourceSpans[0].resource.attributes;
    assert.equal(attr(resource, 'service.name'), 'second-brain');
    assert.equal(attr(resource, 'service.version'), '0.0.0-test');
    assert.equal(attr(resource, 'deployment.environment.name'), 'test');
    assert.equal(attr(resource, 'service.namespace'), 'sb');

    const everything = received.map((r) => r.body.toString()).join('\n');
    assert.ok(!everything.includes('SENTINELKEY'), 'the fixture\'s Authorization header never reaches telemetry');

    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1, `stdout holds only the fixture's result: ${stdout.slice(0, 300)}`);
    JSON.parse(lines[0]!);
    const files = existsSync(join(childHome, 'telemetry')) ? readdirSync(join(childHome, 'telemetry')) : [];
    assert.deepEqual(files, [], 'with an endpoint, nothing goes to local files');
  });

  test('http/protobuf: the same three signals arrive as protobuf', async () => {
    const { received } = await run('http/protobuf');
    const byPath = (p: string) => received.filter((r) => r.path === p);
    for (const p of ['/v1/traces', '/v1/metrics', '/v1/logs']) {
      assert.ok(byPath(p).length > 0, `${p} received`);
      assert.ok(byPath(p).every((r) => r.contentType === 'application/x-protobuf'), `${p} content type`);
    }
    const has = (p: string, text: string) => byPath(p).some((r) => r.body.includes(Buffer.from(text)));
    assert.ok(has('/v1/traces', 'tools/call ask_test'));
    assert.ok(has('/v1/traces', 'second_brain.ratelimit.remaining_requests'));
    assert.ok(has('/v1/metrics', 'mcp.server.operation.duration'));
    assert.ok(has('/v1/logs', 'call finished'));
    assert.ok(!received.some((r) => r.body.includes(Buffer.from('SENTINELKEY'))));
  });
});
