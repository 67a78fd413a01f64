/**
 * The embedded default: with no OTLP endpoint, traces, metrics and logs land in
 * `<home>/telemetry/*.jsonl` as OTLP JSON (one export request per line), and
 * `second-brain traces` lists the most recent tool calls, prints one as a tree and draws it as a page.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, SbError } from '../../src/errors.ts';
import { createLogger, logger, setLogger } from '../../src/logging/logger.ts';
import { runTracesCli } from '../../src/cli/traces.ts';
import { SpanKind, recordError, startTelemetry, withSpan } from '../../src/telemetry/index.ts';
import { startEcho, type Closable } from './helpers.ts';
import { patience } from '@second-brain/harness';

let home: string;
let echo: Closable;
const traceIds: Record<string, string> = {};

async function toolCall(tool: string, body: () => Promise<void>): Promise<void> {
  await withSpan(`tools/call ${tool}`, {
    kind: SpanKind.SERVER,
    attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': tool },
  }, async (span) => {
    traceIds[tool] = span.spanContext().traceId;
    try {
      await body();
    } catch (err) {
      recordError(span, err);
    }
  });
}

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runTracesCli(argv, { home, out: (s) => lines.push(s) });
  return { code, out: lines.join('\n') };
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'sb-files-'));
  echo = await startEcho();
  setLogger(createLogger({ level: 'info', destination: { write: () => true } }));
  const telemetry = startTelemetry({ home, serviceVersion: '0.0.0-test', env: { OTEL_BSP_SCHEDULE_DELAY: '50' } });
  assert.match(telemetry.destinations.traces, /^file /);

  await toolCall('ask_o3', async () => {
    await withSpan('context.gather', { attributes: { 'second_brain.context.files_inline': 12 } }, async () => {});
    await withSpan('chat o3', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.request.model': 'o3' } }, async (span) => {
      span.addEvent('second_brain.retry', { 'second_brain.retry.attempt': 1, 'second_brain.retry.delay_ms': 250 });
      const r = await fetch(`${echo.url}/v1/responses`, { method: 'POST', body: '{}' });
      await r.text();
      logger().info({ tool: 'ask_o3' }, 'answer received');
    });
  });
  await toolCall('ask_grok', async () => {
    await withSpan('chat grok-4', { kind: SpanKind.CLIENT }, async () => {
      throw new SbError(ErrorCode.UPSTREAM_TIMEOUT, 'Failed to get an answer from xai: no response in 300 s. Try again.');
    });
  });
  await toolCall('ask_gemini', async () => {
    throw new SbError(ErrorCode.CANCELLED, 'The call was cancelled.');
  });
  await telemetry.shutdown(2_000);
});

after(async () => {
  await echo.close();
  rmSync(home, { recursive: true, force: true });
});

describe('local telemetry files and `second-brain traces`', { timeout: patience(15_000) }, () => {
  test('traces, metrics and logs are OTLP JSON lines under <home>/telemetry', () => {
    const dir = join(home, 'telemetry');
    const files = readdirSync(dir);
    for (const [prefix, key] of [['traces', 'resourceSpans'], ['metrics', 'resourceMetrics'], ['logs', 'resourceLogs']] as const) {
      const mine = files.filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.jsonl'));
      assert.ok(mine.length >= 1, `${prefix} file written (got ${files.join(', ')})`);
      for (const f of mine) {
        const lines = readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean);
        assert.ok(lines.length >= 1);
        for (const line of lines) assert.ok(Array.isArray(JSON.parse(line)[key]), `${f}: each line is one ${key} export request`);
      }
    }
    const spans = readdirSync(dir).filter((f) => f.startsWith('traces-'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
      .flatMap((l) => JSON.parse(l).resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)));
    const root = spans.find((s: any) => s.name === 'tools/call ask_o3');
    assert.match(root.traceId, /^[0-9a-f]{32}$/, 'ids are hex, as the OTLP JSON encoding requires');
    assert.match(root.startTimeUnixNano, /^\d+$/);
  });

  test('the default lists the most recent calls, newest first, with duration and status', async () => {
    const { code, out } = await cli();
    assert.equal(code, 0);
    assert.match(out, /3 tool call\(s\) in 1 file\(s\); 3 listed\./);
    assert.match(out, /ask_o3\s+\S+ m?s\s+OK\s+[0-9a-f]{32}/);
    assert.match(out, /ask_grok\s+\S+ m?s\s+ERROR SB_ERR_UPSTREAM_TIMEOUT\s+[0-9a-f]{32}/);
    assert.match(out, /ask_gemini\s+\S+ m?s\s+CANCELLED\s+[0-9a-f]{32}/);
    const order = ['ask_gemini', 'ask_grok', 'ask_o3'].map((t) => out.indexOf(t));
    assert.ok(order.every((i) => i > 0) && order[0]! < order[1]! && order[1]! < order[2]!, out);
  });

  test('--slow and --failed filter, --limit narrows; bad values are usage errors', async () => {
    const slow = await cli('--slow', '60000');
    assert.match(slow.out, /3 tool call\(s\) in 1 file\(s\); 0 match \(≥ 1 min 0 s\)/);
    assert.match(slow.out, /Nothing matches; run without --slow\/--failed/);
    const all = await cli('--slow', '0');
    assert.match(all.out, /3 match \(≥ 0\.00 ms\)/);
    const one = await cli('--limit', '1');
    assert.match(one.out, /newest 1 shown/);
    assert.doesNotMatch(one.out, /ask_o3|ask_grok/);
    const failed = await cli('--failed');
    assert.match(failed.out, /2 match \(failed\)/);
    assert.doesNotMatch(failed.out, /ask_o3/);
    const bad = await cli('--slow', 'soon');
    assert.equal(bad.code, 2);
    assert.match(bad.out, /--slow "soon" is not a whole number/);
    const misplaced = await cli('show', traceIds.ask_o3!, '--failed');
    assert.equal(misplaced.code, 2);
    assert.match(misplaced.out, /--failed does not apply here/);
  });

  test('--help explains each subcommand', async () => {
    const top = await cli('--help');
    assert.equal(top.code, 0);
    for (const flag of ['--slow MS', '--failed', '--limit N', 'traces show <traceId>', 'traces open <traceId>']) assert.ok(top.out.includes(flag), `${flag} in ${top.out}`);
    const show = await cli('show', '--help');
    assert.match(show.out, /^usage: second-brain traces show <traceId> \[--html \[--out FILE\]\]/);
    const open = await cli('open', '-h');
    assert.match(open.out, /^usage: second-brain traces open <traceId>/);
    assert.match(open.out, /<home>\/pages\/trace-<traceId>\.html/);
    const unknown = await cli('show', '--bogus');
    assert.equal(unknown.code, 2);
    assert.match(unknown.out, /^Unknown option '--bogus'\.\nusage: second-brain traces show/);
  });

  test('show --html writes one self-contained page; open writes it under <home>/pages and prints the path', async () => {
    const id = traceIds.ask_o3!;
    const page = await cli('show', id, '--html');
    assert.equal(page.code, 0);
    assert.match(page.out, /^<!doctype html>/);
    assert.ok(page.out.includes(`<title>Trace ${id}</title>`));
    assert.equal((page.out.match(/<tr class="span-row /g) ?? []).length, 4, 'a row per span');
    assert.doesNotMatch(page.out, /<link |<script src|src="http|href="http/, 'nothing to fetch');
    const file = join(home, 'out', 'page.html');
    const written = await cli('show', id.slice(0, 10), '--html', '--out', file);
    assert.equal(written.out, file);
    assert.equal(readFileSync(file, 'utf8').match(/<tr class="span-row /g)?.length, 4);
    const opened = await cli('open', id);
    assert.equal(opened.code, 0, opened.out);
    const [path, hint] = opened.out.split('\n');
    assert.equal(path, join(home, 'pages', `trace-${id}.html`));
    assert.match(hint!, /^Open it in a browser: file:\/\//);
    assert.ok(readFileSync(path, 'utf8').includes('tools/call ask_o3'));
    const missing = await cli('open', 'ffffffffffffffffffffffffffffffff');
    assert.equal(missing.code, 1);
  });

  test('show prints the trace as a tree with durations, status, attributes and events', async () => {
    const { code, out } = await cli('show', traceIds.ask_o3!);
    assert.equal(code, 0, out);
    const lines = out.split('\n');
    assert.match(lines[0]!, new RegExp(`^trace ${traceIds.ask_o3} · 4 spans · `));
    assert.match(lines[1]!, /^tools\/call ask_o3  \S+ m?s {2}gen_ai\.tool\.name=ask_o3/);
    assert.ok(lines.some((l) => /^├─ context\.gather .*context\.files_inline=12/.test(l)), out);
    assert.ok(lines.some((l) => /^└─ chat o3 .*gen_ai\.request\.model=o3/.test(l)), out);
    assert.ok(lines.some((l) => /^ {3}│ • \+\S+ m?s second_brain\.retry retry\.attempt=1 retry\.delay_ms=250/.test(l)), out);
    assert.ok(lines.some((l) => /^ {3}└─ POST .* 200 .*ratelimit\.remaining_requests=99/.test(l)), out);

    const grok = await cli('show', traceIds.ask_grok!.slice(0, 12));
    assert.match(grok.out, /tools\/call ask_grok .*ERROR SB_ERR_UPSTREAM_TIMEOUT/);
    assert.match(grok.out, /└─ chat grok-4 .*ERROR SB_ERR_UPSTREAM_TIMEOUT/);
    assert.match(grok.out, /! Failed to get an answer from xai/);
    const gemini = await cli('show', traceIds.ask_gemini!);
    assert.match(gemini.out, /tools\/call ask_gemini .*CANCELLED/);
    assert.match(gemini.out, /• \+\S+ m?s second_brain\.cancelled cancel\.reason=cancelled/);

    const missing = await cli('show', 'ffffffffffffffffffffffffffffffff');
    assert.equal(missing.code, 1);
    const nonsense = await cli('show', 'not-an-id');
    assert.equal(nonsense.code, 2);
  });
});
