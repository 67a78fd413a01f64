import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_VERSION } from '../../src/mcp/create-server.ts';
import { patience } from '@second-brain/harness';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/second-brain.js', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}, entry = MAIN) {
  const home = mkdtempSync(join(tmpdir(), 'sb-cli-'));
  try {
    const r = spawnSync(process.execPath, [entry, ...args], {
      env: { PATH: process.env.PATH, SECOND_BRAIN_HOME: home, OTEL_SDK_DISABLED: 'true', ...env },
      encoding: 'utf8', timeout: patience(30_000), input: '',
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const noStack = (s: string) => assert.doesNotMatch(s, /^\s+at .+:\d+:\d+\)?$/m, `a stack trace was printed:\n${s}`);

test('--version and -v print the version on stdout and exit 0', { timeout: patience(60_000) }, () => {
  for (const flag of ['--version', '-v']) {
    const r = run([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `second-brain ${SERVER_VERSION}`);
  }
});

test('--help, -h and help print the usage and exit 0', { timeout: patience(60_000) }, () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = run(args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /usage:[\s\S]*second-brain doctor[\s\S]*--version/);
  }
});

test('an unknown flag, a bare --http, a bad port and an unknown command: one-line error, the usage, exit 2, no stack', { timeout: patience(90_000) }, () => {
  const cases: Array<[string[], RegExp]> = [
    [['--bogus'], /^second-brain: unknown option --bogus$/m],
    [['--http'], /^second-brain: --http needs a port number, e.g. --http 8765$/m],
    [['--http', 'abc'], /^second-brain: --http takes a port number 0–65535, got "abc"$/m],
    [['frobnicate'], /^second-brain: unknown command "frobnicate"$/m],
  ];
  for (const [args, line] of cases) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, line);
    assert.match(r.stderr, /usage:/);
    assert.equal(r.stdout, '', 'stdout stays clean');
    noStack(r.stderr);
  }
});

test('bin/second-brain.js answers --version too', { timeout: patience(60_000) }, () => {
  const r = run(['--version'], {}, BIN);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `second-brain ${SERVER_VERSION}`);
});

test('doctor --json prints one JSON object; exit 0 with no failing check', { timeout: patience(60_000) }, () => {
  const r = run(['doctor', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const report = JSON.parse(r.stdout);
  assert.equal(report.ok, true);
  assert.equal(report.providers.openai.status, 'skipped');
});

test('a corrupt state file stops the server with the path and what to do, no stack', { timeout: patience(60_000) }, () => {
  const home = mkdtempSync(join(tmpdir(), 'sb-cli-'));
  try {
    const path = join(home, 'state.sqlite');
    writeFileSync(path, 'definitely not sqlite '.repeat(50));
    const r = run([], { SECOND_BRAIN_HOME: home });
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(path), r.stderr);
    assert.match(r.stderr, /file is not a database.*Move it aside.*\[SB_ERR_STATE_CORRUPT\]/);
    noStack(r.stderr);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
