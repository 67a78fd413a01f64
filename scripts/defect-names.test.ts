// A defect switch is named by a typed key of the one registry (server/src/config/test-defects.ts):
// a misspelt name at a call site or in a scenario is a type error, so `npm run typecheck`
// fails on it, and SECOND_BRAIN_TEST_DEFECTS with an unknown name stops the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { defectOn, installTestDefects } from '../server/src/config/test-defects.ts';
import { TEST_DEFECTS, isTestDefect, type TestDefect } from '../server/src/defects/index.ts';
import { loadConfig } from '../server/src/config/env.ts';
import { defineScenario } from '../harness/src/runner/scenario.ts';
import { patience } from '../harness/src/reference/patience.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Type-checks one in-memory file as if it lived at `rel`, with the project's compiler options. */
function typeErrors(rel: string, code: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(`${root}tsconfig.json`, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const path = `${root}${rel}`;
  const host = ts.createCompilerHost(config.options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  const source = host.getSourceFile.bind(host);
  host.readFile = (f) => (f === path ? code : read(f));
  host.fileExists = (f) => f === path || exists(f);
  host.getSourceFile = (f, lang, ...rest) => (f === path ? ts.createSourceFile(f, code, lang) : source(f, lang, ...rest));
  const program = ts.createProgram([path], config.options, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(path)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

test('a misspelt defect name at a call site does not type-check; a known one does', { timeout: patience(60_000) }, () => {
  const probe = (name: string) => `import { defectOn } from '../config/test-defects.ts';\nexport const on = defectOn('${name}');\n`;
  assert.deepEqual(typeErrors('server/src/vector/probe.ts', probe('store-cleanup-disabled')), []);
  const errors = typeErrors('server/src/vector/probe.ts', probe('store-cleanup-disabeld'));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /store-cleanup-disabeld/);
});

test('a misspelt defect in a scenario fails to type-check and to load', { timeout: patience(60_000) }, () => {
  const scenario = (name: string) => `import { defineScenario } from '../harness/src/runner/scenario.ts';\nexport default defineScenario({ id: 'KI-13', name: 'probe', title: 'probe', steps: [{ do: 'call', id: 'a', tool: 'chat_with_gpt41', args: {} }], provenAgainst: { defect: '${name}' } });\n`;
  assert.deepEqual(typeErrors('scenarios/probe.ts', scenario('store-cleanup-disabled')), []);
  assert.equal(typeErrors('scenarios/probe.ts', scenario('store-cleanup-disabeld')).length, 1);
  const input = { id: 'KI-13', name: 'probe', title: 'probe', steps: [{ do: 'call' as const, id: 'a', tool: 'chat_with_gpt41', args: {} }] };
  assert.throws(() => defineScenario({ ...input, provenAgainst: { defect: 'store-cleanup-disabeld' as never } }), /provenAgainst/);
  assert.deepEqual(defineScenario({ ...input, provenAgainst: { defect: ['throw-after-cancel', 'no-rejection-guard'] } }).provenAgainst, { defect: 'throw-after-cancel,no-rejection-guard' });
});

test('switches are off unless installed; an unknown name in the environment stops the server', () => {
  assert.equal(defectOn('store-cleanup-disabled'), false);
  installTestDefects(new Set(['store-cleanup-disabled']));
  try {
    assert.equal(defectOn('store-cleanup-disabled'), true);
    assert.equal(defectOn('per-file-uploads'), false);
  } finally {
    installTestDefects(new Set());
  }
  assert.throws(() => loadConfig({ SECOND_BRAIN_HOME: '/tmp/sb-defect-probe', SECOND_BRAIN_TEST_DEFECTS: 'per-file-upload' }), /unknown defect "per-file-upload"/);
});

test('every switch is accounted for in defects/index.ts: swapped at a seam, or a branch listed with its reason', () => {
  const header = readFileSync(`${root}server/src/defects/index.ts`, 'utf8');
  const [swapped = '', branches = ''] = header.split('Still a branch at the call site');
  const names: TestDefect[] = Object.keys(TEST_DEFECTS).filter(isTestDefect);
  for (const name of names) assert.ok(header.includes(name), `${name} is not listed in server/src/defects/index.ts`);
  const seams = readFileSync(`${root}server/src/defects/seams.ts`, 'utf8');
  for (const name of names.filter((n) => swapped.includes(n))) {
    assert.ok(seams.includes(`'${name}'`) || (name.endsWith('-ignores-signal') && seams.includes('`${provider}-ignores-signal`')), `${name} is listed as swapped but seams.ts does not pick it`);
  }
  // A switch read outside defects/ must be listed as a branch.
  const read = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) { if (e.name !== 'defects') walk(p); continue; }
      if (!e.name.endsWith('.ts') || e.name.endsWith('.test.ts') || e.name === 'test-defects.ts') continue;
      for (const m of readFileSync(p, 'utf8').matchAll(/(?:defectOn|\.has)\('([a-z-]+)'\)/g)) if (isTestDefect(m[1]!)) read.add(m[1]!);
    }
  };
  walk(`${root}server/src`);
  assert.ok(read.size > 0);
  for (const name of read) assert.ok(branches.includes(name), `${name} is read at a call site but not listed as a branch in server/src/defects/index.ts`);
});
