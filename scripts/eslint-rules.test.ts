// The lint step fails on a layering violation (eslint.boundaries.js) and on the
// type-aware rules of eslint.config.js:
// checked on code given to ESLint as if it lived at a path in server/src.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { SERVER_LAYERS, WIRING_FOLDERS } from '../eslint.boundaries.js';
import { patience } from '../harness/src/reference/patience.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
// The probes exist only in memory, so the type-aware parser takes them into a default
// project built from the same tsconfig.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['server/src/probe.ts', 'server/src/*/probe.ts', 'server/src/*/probe.test.ts'], defaultProject: 'tsconfig.json' } } },
  },
});

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return result!.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

test('every folder of server/src has a place in the layering', () => {
  const folders = readdirSync(`${root}server/src`, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const placed = new Set([...SERVER_LAYERS.flat(), ...WIRING_FOLDERS]);
  assert.deepEqual(folders.filter((f) => !placed.has(f)), [], 'add new folders to SERVER_LAYERS (or WIRING_FOLDERS) in eslint.boundaries.js');
});

test('a lower layer importing a higher one is an error', { timeout: patience(60_000) }, async () => {
  const errors = await boundaryErrors('server/src/state/probe.ts', "import { OWNER } from '../vector/ownership.ts';\nexport const x = OWNER;\n");
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /state\/ is below .*vector/);
  assert.equal((await boundaryErrors('server/src/flow/probe.ts', "import { createServer } from '../mcp/create-server.ts';\nexport const x = createServer;\n")).length, 1, 'flow/ must not import mcp/');
});

test('a higher layer importing a lower one is fine', { timeout: patience(60_000) }, async () => {
  assert.deepEqual(await boundaryErrors('server/src/vector/probe.ts', "import { SbError } from '../errors.ts';\nimport { openDatabase } from '../state/db.ts';\nexport const x = [SbError, openDatabase];\n"), []);
});

test('listed type-only imports pass, values do not', { timeout: patience(60_000) }, async () => {
  assert.deepEqual(await boundaryErrors('server/src/state/probe.ts', "import type { ChatMessage } from '../providers/types.ts';\nexport type X = ChatMessage;\n"), []);
  assert.equal((await boundaryErrors('server/src/state/probe.ts', "import { ProviderClients } from '../providers/clients.ts';\nexport const x = ProviderClients;\n")).length, 1);
  assert.equal((await boundaryErrors('server/src/flow/probe.ts', "import { createApp } from '../app.ts';\nexport const x = createApp;\n")).length, 1, 'only types from the composition root');
});

test('production code never imports the harness; tests may', { timeout: patience(60_000) }, async () => {
  const code = "import { createFakeApi } from '@second-brain/harness';\nexport const x = createFakeApi;\n";
  assert.equal((await boundaryErrors('server/src/vector/probe.ts', code)).length, 1);
  assert.deepEqual(await boundaryErrors('server/src/vector/probe.test.ts', code), []);
});

test('test-defect implementations are imported by the wiring only', { timeout: patience(60_000) }, async () => {
  const seams = "import { sessionLock } from '../defects/seams.ts';\nexport const x = sessionLock;\n";
  // Probes at the bottom, the middle and near the top of the layering (the default project takes only a few files).
  for (const folder of ['state', 'vector', 'flow']) {
    const errors = await boundaryErrors(`server/src/${folder}/probe.ts`, seams);
    assert.equal(errors.length, 1, `${folder}/ must not import defects/`);
    assert.match(errors[0]!, /chosen by the wiring/);
  }
  assert.equal((await boundaryErrors('server/src/vector/probe.ts', "import type { LeakyPermits } from '../defects/vector.ts';\nexport type X = LeakyPermits;\n")).length, 1, 'not even a type');
  assert.deepEqual(await boundaryErrors('server/src/probe.ts', "import { sessionLock } from './defects/seams.ts';\nexport const x = sessionLock;\n"), [], 'the composition root may');
  assert.deepEqual(await boundaryErrors('server/src/vector/probe.test.ts', seams), [], 'tests may');
});

test('defects/ may use any layer, but not the harness or the root\'s values', { timeout: patience(60_000) }, async () => {
  assert.deepEqual(await boundaryErrors('server/src/defects/probe.ts', "import { installVectorGates } from '../vector/gates.ts';\nimport { SessionLocks } from '../state/sessions.ts';\nexport const x = [installVectorGates, SessionLocks];\n"), []);
  assert.equal((await boundaryErrors('server/src/defects/probe.ts', "import { createFakeApi } from '@second-brain/harness';\nexport const x = createFakeApi;\n")).length, 1);
  assert.equal((await boundaryErrors('server/src/defects/probe.ts', "import { createApp } from '../app.ts';\nexport const x = createApp;\n")).length, 1);
});

test('type-aware rules run: a floating promise and an unneeded assertion are errors', { timeout: patience(60_000) }, async () => {
  const [result] = await eslint.lintText(
    "async function work(): Promise<void> {}\nwork();\nconst n: number = Date.now();\nexport const m = n as number;\n",
    { filePath: `${root}server/src/runtime/probe.ts` },
  );
  const rules = result!.messages.map((m) => m.ruleId ?? m.message);
  assert.ok(rules.includes('@typescript-eslint/no-floating-promises'), rules.join(', '));
  assert.ok(rules.includes('@typescript-eslint/no-unnecessary-type-assertion'), rules.join(', '));
});

test('a raw abort listener is an error in the server; addAbortListener is the way', { timeout: patience(60_000) }, async () => {
  const lint = async (code: string) => (await eslint.lintText(code, { filePath: `${root}server/src/runtime/probe.ts` }))[0]!.messages.filter((m) => m.ruleId === 'no-restricted-syntax');
  assert.equal((await lint("export function f(s: AbortSignal): void { s.addEventListener('abort', () => {}, { once: true }); }\n")).length, 1);
  assert.equal((await lint("import { addAbortListener } from 'node:events';\nexport function f(s: AbortSignal): Disposable { return addAbortListener(s, () => {}); }\n")).length, 0);
});

test('process.env is read in server/src/config/ only', { timeout: patience(60_000) }, async () => {
  const lint = async (path: string, code: string) => (await eslint.lintText(code, { filePath: `${root}${path}` }))[0]!.messages.filter((m) => m.ruleId === 'no-restricted-syntax');
  const read = 'export const level = process.env.SECOND_BRAIN_LOG_LEVEL;\n';
  assert.equal((await lint('server/src/runtime/probe.ts', read)).length, 1, 'outside config/ it is an error');
  assert.equal((await lint('server/src/config/probe.ts', read)).length, 0, 'config/ is its home');
  assert.equal((await lint('server/src/config/probe.ts', "export function f(s: AbortSignal): void { s.addEventListener('abort', () => {}); }\n")).length, 1, 'config/ keeps the abort-listener rule');
});
