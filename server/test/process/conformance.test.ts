// The official MCP conformance suite (@modelcontextprotocol/conformance) against
// `second-brain --http 0` on 127.0.0.1, with the bearer token. Every scenario that applies
// to a server with this server's capabilities (tools, logging, tasks) must pass; the rest
// are listed below, each with the reason it does not apply. A scenario the suite adds
// later fails this test until it is put in one list or the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patience } from '@second-brain/harness';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(import.meta.url);
const suiteBin = join(dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist', 'index.js');
const preload = fileURLToPath(new URL('./conformance-auth-preload.ts', import.meta.url));
const TOKEN = 'conformance-token-0123456789abcdef';

const APPLIES = ['server-initialize', 'logging-set-level', 'ping', 'tools-list', 'server-sse-multiple-streams', 'dns-rebinding-protection'];

const FIXTURE = 'calls a fixture tool of the suite\'s reference server';
const DOES_NOT_APPLY: Record<string, string> = {
  'completion-complete': 'the server declares no completions capability (it has no prompts or resource templates to complete)',
  'tools-call-simple-text': `${FIXTURE} (test_simple_text); it would pass only because an unknown tool is answered with an isError text result`,
  'tools-call-error': `${FIXTURE} (test_error_handling); it would pass only because an unknown tool is answered with an isError text result`,
  'tools-call-image': `${FIXTURE} (test_image_content); this server's tools return text`,
  'tools-call-audio': `${FIXTURE} (test_audio_content); this server's tools return text`,
  'tools-call-embedded-resource': `${FIXTURE} (test_embedded_resource); this server has no resources`,
  'tools-call-mixed-content': `${FIXTURE} (test_multiple_content_types); this server's tools return text`,
  'tools-call-with-logging': `${FIXTURE} (test_tool_with_logging); the server's own log notifications are tested with its real tools`,
  'tools-call-with-progress': `${FIXTURE} (test_tool_with_progress); progress of the real tools is tested by the KI-06 and KI-12 tests`,
  'tools-call-sampling': `${FIXTURE} (test_sampling); the server never asks the client for sampling`,
  'tools-call-elicitation': `${FIXTURE} (test_elicitation); the server never asks the client for elicitation`,
  'elicitation-sep1034-defaults': `${FIXTURE} (test_elicitation_sep1034_defaults); the server never elicits`,
  'elicitation-sep1330-enums': `${FIXTURE} (test_elicitation_sep1330_enums); the server never elicits`,
  'json-schema-2020-12': `${FIXTURE} (json_schema_2020_12_tool) and checks that tool's own input schema`,
  'server-sse-polling': `${FIXTURE} (test_reconnection, which closes its SSE stream mid-call)`,
  'resources-list': 'the server declares no resources capability',
  'resources-read-text': 'the server declares no resources capability',
  'resources-read-binary': 'the server declares no resources capability',
  'resources-templates-read': 'the server declares no resources capability',
  'resources-subscribe': 'the server declares no resources capability',
  'resources-unsubscribe': 'the server declares no resources capability',
  'prompts-list': 'the server declares no prompts capability',
  'prompts-get-simple': 'the server declares no prompts capability',
  'prompts-get-with-args': 'the server declares no prompts capability',
  'prompts-get-embedded-resource': 'the server declares no prompts capability',
  'prompts-get-with-image': 'the server declares no prompts capability',
};

interface Check { id: string; status: string; errorMessage?: string }

async function startServer(home: string): Promise<{ port: number; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', join(repo, 'harness/src/node/preload.ts'), join(repo, 'server/src/main.ts'), '--http', '0'], {
    env: { PATH: process.env.PATH ?? '', SECOND_BRAIN_HOME: home, SECOND_BRAIN_HTTP_TOKEN: TOKEN, OPENAI_API_KEY: 'sk-test-conformance-0123456789', OPENAI_BASE_URL: 'http://openai.fake/v1', SECOND_BRAIN_MEMORY: 'false', OTEL_SDK_DISABLED: 'true', SECOND_BRAIN_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 30_000);
    child.on('exit', (c) => { clearTimeout(t); reject(new Error(`server exited ${c}: ${err}`)); });
    child.stderr.on('data', (d) => {
      err += d;
      const m = /http:\/\/127\.0\.0\.1:(\d+)\/mcp/.exec(err);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    });
  });
  return {
    port,
    stop: () => new Promise((r) => { child.once('exit', (c) => r(c)); child.kill('SIGTERM'); }),
  };
}

/** Runs the suite; resolves with each scenario's checks. Killed after `timeoutMs`. */
function runSuite(url: string, args: string[], withToken: boolean, timeoutMs: number): Promise<Map<string, Check[]>> {
  const out = mkdtempSync(join(tmpdir(), 'sb-conformance-'));
  const child = spawn(process.execPath, [...(withToken ? ['--import', preload] : []), suiteBin, 'server', '--url', url, ...args, '-o', out], {
    cwd: out,
    env: { PATH: process.env.PATH ?? '', HOME: out, SB_CONFORMANCE_ORIGIN: new URL(url).origin, SB_CONFORMANCE_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`conformance suite still running after ${timeoutMs} ms:\n${log.slice(-4000)}`)); }, timeoutMs);
    child.on('exit', () => {
      clearTimeout(t);
      const results = new Map<string, Check[]>();
      for (const dir of readdirSync(out)) {
        const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(dir);
        if (m) results.set(m[1]!, JSON.parse(readFileSync(join(out, dir, 'checks.json'), 'utf8')) as Check[]);
      }
      if (results.size === 0) reject(new Error(`the suite wrote no results:\n${log.slice(-4000)}`));
      else resolve(results);
    });
  });
}

test('MCP conformance suite: every applicable server scenario passes over --http with the token', { timeout: patience(240_000) }, async () => {
  const server = await startServer(mkdtempSync(join(tmpdir(), 'sb-conf-home-')));
  try {
    const url = `http://127.0.0.1:${server.port}/mcp`;
    const results = await runSuite(url, ['--suite', 'all'], true, 180_000);
    const ran = [...results.keys()].sort();
    assert.deepEqual(ran, [...APPLIES, ...Object.keys(DOES_NOT_APPLY)].sort(), 'every scenario of the suite is either applicable or listed with its reason');
    const failed: string[] = [];
    for (const name of APPLIES) {
      const checks = results.get(name)!.filter((c) => c.status !== 'INFO');
      const bad = checks.filter((c) => c.status !== 'SUCCESS');
      if (checks.length === 0 || bad.length) failed.push(`${name}: ${bad.map((c) => `${c.id} ${c.status} ${c.errorMessage ?? ''}`).join('; ') || 'no checks'}`);
    }
    assert.deepEqual(failed, [], 'applicable scenarios pass');

    // The token is what lets the suite in: without it the same server refuses it.
    const refused = await runSuite(url, ['--scenario', 'server-initialize'], false, 60_000);
    const init = refused.get('server-initialize')!.filter((c) => c.status !== 'INFO');
    assert.ok(init.length > 0 && init.every((c) => c.status === 'FAILURE'), `without the token the suite cannot initialize: ${JSON.stringify(init)}`);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
