// Know before you send: a dry run answers with what a call would send (files by class,
// tokens, a cost estimate) and sends nothing; a real call names its files by class; a call
// over the confirmation threshold is held back with its estimate; include / exclude patterns
// filter what is gathered; count_project_tokens names what it skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRig, textOf, type Rig } from '../support/in-process.ts';
import { countTokens } from '../../src/context/index.ts';
import { patience } from '@second-brain/harness';

// The janitor's first pass would be an upstream request of its own; keep it out of the journal.
const QUIET = { SECOND_BRAIN_JANITOR: JSON.stringify({ startupDelayMs: 600_000 }) };

/** src/ with small files, a large one that overflows a 12,000-token window, a test file, a README and a secret. */
function project(smallFiles = 3): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-kbs-'));
  mkdirSync(join(dir, 'src'));
  for (let i = 0; i < smallFiles; i++) writeFileSync(join(dir, 'src', `m${String(i).padStart(2, '0')}.ts`), `export const v${i} = ${i};\n`);
  writeFileSync(join(dir, 'src', 'big.ts'), `// ${'filler words here '.repeat(2_000)}\nexport const big = 1;\n`);
  writeFileSync(join(dir, 'src', 'm00.test.ts'), 'import "./m00.ts";\n');
  writeFileSync(join(dir, 'README.md'), '# demo\n');
  writeFileSync(join(dir, '.env'), 'TOKEN=abc\n');
  return dir;
}

function lastResponsesInput(rig: Rig): string {
  const records = [...(rig.fake.state as unknown as { responses: Map<string, { request: { input: unknown } }> }).responses.values()];
  const input = records.at(-1)!.request.input;
  return typeof input === 'string' ? input : JSON.stringify(input);
}

test('dry_run: every chat tool answers with what would be sent and an estimate, and makes no upstream request', { timeout: patience(90_000) }, async () => {
  const dir = project();
  const rig = await startRig({ roots: [dir], env: QUIET, models: { o3: { context_window: 12_000 }, 'grok-4': { context_window: 12_000 } } });
  try {
    const tools = [...rig.app.config.catalogue.values()].map((m) => m.tool);
    for (const tool of tools) {
      const r = await rig.call(tool, { instructions: 'What is v1?', session_id: `dry-${tool}`, context: ['.'], dry_run: true });
      assert.equal(r.isError, undefined, `${tool}: ${textOf(r)}`);
      const sc = r.structuredContent as any;
      assert.equal(sc.status, 'dry_run', tool);
      assert.equal(sc.sent, false);
      assert.ok(sc.estimate.input_tokens > 0, `${tool}: input tokens counted`);
      assert.equal(typeof sc.estimate.total_usd, 'number', `${tool}: priced`);
      assert.ok(sc.context.files.inline.includes('src/m01.ts'), `${tool}: inline files named`);
      assert.deepEqual(sc.context.files.left_out.find((f: any) => f.path === '.env'), { path: '.env', reason: 'secret' });
      assert.match(textOf(r), /^Dry run for .*nothing was sent/);
      assert.match(textOf(r), /Inline \(\d+\): /);
    }
    // The small-window OpenAI model overflows to the vector store, Grok leaves it out.
    const o3 = (await rig.call('chat_with_o3', { instructions: 'q', session_id: 'o3', context: ['.'], dry_run: true })).structuredContent as any;
    assert.deepEqual(o3.context.files.vector_store, ['src/big.ts']);
    assert.equal(o3.estimate.vector_store.files, 1);
    assert.equal(o3.estimate.vector_store.storage_usd_per_gb_day, 0.1);
    const grok = (await rig.call('chat_with_grok4', { instructions: 'q', session_id: 'g', context: ['.'], dry_run: 'true' })).structuredContent as any;
    assert.deepEqual(grok.context.files.left_out.find((f: any) => f.path === 'src/big.ts'), { path: 'src/big.ts', reason: 'did-not-fit' });
    assert.equal(rig.fake.journal.entries().length, 0, `no upstream request: ${rig.fake.journal.entries().map((e) => e.route).join(', ')}`);
    // Nothing was recorded either: the session has no turn.
    assert.equal(rig.app.sessions.list(50).length, 0);
  } finally {
    await rig.close();
  }
});

test('dry_run: the estimated input tokens match what the real call then sends (o200k, within 2 %)', { timeout: patience(60_000) }, async (t) => {
  const dir = project(40);
  const rig = await startRig({ roots: [dir], env: QUIET });
  try {
    const args = { instructions: 'Where is v7 defined?', session_id: 'measure', context: ['.'], disable_memory_search: true };
    const dry = (await rig.call('chat_with_gpt41', { ...args, dry_run: true })).structuredContent as any;
    const real = await rig.call('chat_with_gpt41', args);
    assert.equal(real.isError, undefined, textOf(real));
    const [sent] = await countTokens([lastResponsesInput(rig)], 'o200k', AbortSignal.timeout(patience(30_000))) as [number];
    const ratio = dry.estimate.input_tokens / sent;
    t.diagnostic(`dry-run estimate ${dry.estimate.input_tokens} input tokens, the request carried ${sent} (ratio ${ratio.toFixed(3)})`);
    assert.ok(Math.abs(ratio - 1) <= 0.02, `estimate ${dry.estimate.input_tokens} vs sent ${sent}`);
  } finally {
    await rig.close();
  }
});

test('the report of a real call names the files of each class: in full in structuredContent, up to a limit in the text', { timeout: patience(60_000) }, async () => {
  const dir = project(30);
  const rig = await startRig({ roots: [dir], env: QUIET, models: { o3: { context_window: 12_000 } } });
  try {
    const r = await rig.call('chat_with_o3', { instructions: 'summarise', session_id: 'named', context: ['.'] });
    assert.equal(r.isError, undefined, textOf(r));
    const files = (r.structuredContent as any).context.files;
    assert.equal(files.inline.length, (r.structuredContent as any).context.files_inline);
    assert.ok(files.inline.length > 20, `${files.inline.length} inline`);
    for (let i = 0; i < 30; i++) assert.ok(files.inline.includes(`src/m${String(i).padStart(2, '0')}.ts`), `m${i} named`);
    assert.deepEqual(files.vector_store, ['src/big.ts']);
    assert.ok(files.left_out.some((f: any) => f.path === '.env' && f.reason === 'secret'));
    const text = textOf(r);
    const line = text.split('\n').find((l) => l.startsWith('Inline ('))!;
    assert.ok(line, text);
    assert.equal(line.split(', ').length, 20 + 1, `20 names and the rest counted: ${line}`);
    assert.match(line, new RegExp(`… and ${files.inline.length - 20} more$`));
    assert.match(text, /^Vector store \(1\): src\/big\.ts$/m);
  } finally {
    await rig.close();
  }
});

test('a call over SECOND_BRAIN_CONFIRM_ABOVE_TOKENS answers with its estimate and sends nothing; confirm_large sends it', { timeout: patience(60_000) }, async () => {
  const dir = project(40);
  const rig = await startRig({ roots: [dir], env: { ...QUIET, SECOND_BRAIN_CONFIRM_ABOVE_TOKENS: '1000' } });
  try {
    const args = { instructions: 'review', session_id: 'big', context: ['.'] };
    const held = await rig.call('chat_with_gpt41', args);
    assert.equal(held.isError, undefined, 'a clear result, not a failure');
    const sc = held.structuredContent as any;
    assert.equal(sc.status, 'needs_confirmation');
    assert.equal(sc.sent, false);
    assert.equal(sc.confirm_above_tokens, 1000);
    assert.ok(sc.estimate.input_tokens > 1000);
    assert.match(textOf(held), /confirm_large: true/);
    assert.match(textOf(held), /SECOND_BRAIN_CONFIRM_ABOVE_TOKENS/);
    assert.match(textOf(held), /est\. \$\d/);
    assert.equal(rig.fake.journal.entries().length, 0, 'nothing sent');
    // Under the threshold a call goes through as before.
    const small = await rig.call('chat_with_gpt41', { instructions: 'hi', session_id: 'small' });
    assert.equal((small.structuredContent as any).status, undefined);
    const sent = await rig.call('chat_with_gpt41', { ...args, confirm_large: true });
    assert.equal(sent.isError, undefined, textOf(sent));
    assert.ok((sent.structuredContent as any).text.length > 0);
    assert.equal(rig.fake.journal.entries().filter((e) => e.route === 'responses.create').length, 2);
  } finally {
    await rig.close();
  }
});

test('include / exclude: excluded files are left out with a reason, others not included are counted; count_project_tokens takes them too', { timeout: patience(60_000) }, async () => {
  const dir = project();
  const rig = await startRig({ roots: [dir], env: QUIET });
  try {
    const r = await rig.call('chat_with_gpt41', { instructions: 'q', session_id: 'f', context: ['.'], include: ['src/'], exclude: ['*.test.ts', 'big.ts'], dry_run: true });
    assert.equal(r.isError, undefined, textOf(r));
    const files = (r.structuredContent as any).context.files;
    assert.deepEqual(files.inline.sort(), ['src/m00.ts', 'src/m01.ts', 'src/m02.ts']);
    assert.deepEqual(files.left_out.filter((f: any) => f.reason === 'excluded-by-pattern').map((f: any) => f.path).sort(), ['src/big.ts', 'src/m00.test.ts']);
    assert.match(textOf(r), /2 files left out: not matched by include/, 'README.md and .env are counted, not sent');
    // A directory pattern prunes the walk: the directory itself is reported.
    const dirExcluded = (await rig.call('chat_with_gpt41', { instructions: 'q', session_id: 'f2', context: ['.'], exclude: 'src/', dry_run: true })).structuredContent as any;
    assert.deepEqual(dirExcluded.context.files.inline, ['README.md']);
    assert.ok(dirExcluded.context.files.left_out.some((f: any) => f.path === 'src/' && f.reason === 'excluded-by-pattern'));

    // A file named outright is excluded too: an explicit exclude is the caller's last word.
    const named = (await rig.call('chat_with_gpt41', { instructions: 'q', session_id: 'f3', context: ['src/m00.test.ts', 'README.md'], exclude: ['*.test.ts'], dry_run: true })).structuredContent as any;
    assert.deepEqual(named.context.files.inline, ['README.md']);
    assert.deepEqual(named.context.files.left_out, [{ path: 'src/m00.test.ts', reason: 'excluded-by-pattern' }]);

    const count = await rig.call('count_project_tokens', { paths: ['.'], exclude: ['*.test.ts'] });
    assert.equal(count.isError, undefined, textOf(count));
    const c = count.structuredContent as any;
    assert.equal(c.totalFiles, 5, 'README, three modules and big.ts');
    assert.ok(c.skipped.some((s: any) => s.path === 'src/m00.test.ts' && s.reason === 'excluded-by-pattern'));
    // The text names what it skipped, with the reason.
    assert.match(textOf(count), /^ {2}src\/m00\.test\.ts \(excluded-by-pattern\)$/m);
    assert.match(textOf(count), /^ {2}\.env \(secret\)$/m);
    const bad = await rig.call('count_project_tokens', { paths: ['.'], include: [''] });
    assert.equal(bad.isError, true);
    assert.match(textOf(bad), /include accepts a list of gitignore-style patterns/);
  } finally {
    await rig.close();
  }
});
