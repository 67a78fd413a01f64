// A defect switch is named by a typed key of the one registry (server/src/config/test-defects.ts):
// a misspelt name at a call site or in a scenario is a type error, so `npm run typecheck`
// fails on it, and SECOND_BRAIN_TEST_DEFECTS with an unknown name stops the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { defectOn, installTestDefects } from '../server/src/config/test-defects.ts';
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
