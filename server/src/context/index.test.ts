import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { countTokens as referenceCount } from 'gpt-tokenizer/encoding/o200k_base';
import { openDatabase } from '../state/db.ts';
import { closeContextWorkers, countProjectTokens, prepareContext, recordSent } from './index.ts';
import { patience } from '@second-brain/harness';

after(() => closeContextWorkers());

function tempTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'sb-ctx-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  }
  return root;
}

const words = (n: number, seed: string) => Array.from({ length: n }, (_, i) => `${seed}${i}`).join(' ') + '\n';

test('prepareContext: inline, overflow, priority, tree marks, report; follow-ups resend only changes', { timeout: patience(20_000) }, async (t) => {
  const root = tempTree({
    'src/small.ts': words(20, 's'), 'src/medium.ts': words(400, 'm'), 'src/large.ts': words(3_000, 'l'),
    'docs/guide.md': words(50, 'g'), 'core/main.ts': words(2_000, 'p'), '.env': 'SECRET=1', 'logo.png': '\x89PNG\r\n\x1a\n\0\0\0',
  });
  const db = openDatabase(join(root, '.state', 'state.db'));
  t.after(() => { db.close(); rmSync(root, { recursive: true, force: true }); });
  const model = { contextWindow: 20_000, tokenizerFamily: 'o200k' as const };
  const budget = { fraction: 1, reserveTokens: 8_000 };
  const progress: string[] = [];
  const ctx = await prepareContext({
    db, sessionId: 'sess', model, budget, paths: ['src', 'docs', '.env', 'logo.png'], priorityPaths: ['core/main.ts'], roots: [root],
    instructions: 'Explain the code.', signal: AbortSignal.timeout(patience(15_000)), onProgress: (_d, _t, m) => progress.push(m),
  });
  assert.deepEqual(ctx.inline.map((f) => f.relPath), ['core/main.ts', 'docs/guide.md', 'src/medium.ts', 'src/small.ts']);
  assert.deepEqual(ctx.overflow.map((f) => f.relPath), ['src/large.ts']);
  assert.deepEqual(ctx.skipped.map((s) => `${s.path}:${s.reason}`).sort(), ['.env:secret', 'logo.png:binary']);
  assert.ok(ctx.inline.find((f) => f.relPath === 'core/main.ts')!.priority);
  for (const f of [...ctx.inline, ...ctx.overflow]) {
    assert.equal(f.tokens, referenceCount(f.text!), f.relPath);
    assert.match(f.sha256!, /^[0-9a-f]{64}$/);
  }
  assert.ok(ctx.stats.inlineTokens <= ctx.stats.budgetTokens);
  assert.match(ctx.promptText, /^ {2}large\.ts \[vector store\]$/m);
  assert.match(ctx.promptText, /^ {2}main\.ts \[inline\]$/m);
  assert.ok(ctx.promptText.includes(`----- BEGIN FILE src/small.ts -----\n${words(20, 's')}----- END FILE src/small.ts -----`));
  assert.ok(!ctx.promptText.includes('l2999'), 'overflow content is not inline');
  assert.match(ctx.promptText, /file_search/);
  assert.ok(!ctx.promptText.includes('Explain the code.'), 'instructions travel separately');
  assert.match(ctx.contextReport, /5 files in scope: 4 inline, 1 in the vector store/);
  assert.match(ctx.contextReport, /\.env \(secret\)/);
  assert.ok(progress.some((m) => m.startsWith('Reading')) && progress.some((m) => m.startsWith('Counting tokens')));
  // The prompt's real size stays within the estimate the budget used.
  assert.ok(referenceCount(ctx.promptText) <= ctx.stats.promptTokens, `${referenceCount(ctx.promptText)} > ${ctx.stats.promptTokens}`);

  await recordSent(db, 'sess', ctx.inline, AbortSignal.timeout(patience(5_000)));
  writeFileSync(join(root, 'src/small.ts'), words(21, 's'));
  utimesSync(join(root, 'docs/guide.md'), new Date(), new Date(Date.now() + 5_000)); // touched, same bytes
  const follow = await prepareContext({
    db, sessionId: 'sess', model, budget, paths: ['src', 'docs'], priorityPaths: ['core/main.ts'], roots: [root],
    instructions: 'And now?', signal: AbortSignal.timeout(patience(15_000)),
  });
  assert.deepEqual(follow.alreadySent.map((f) => f.relPath).sort(), ['core/main.ts', 'docs/guide.md', 'src/medium.ts']);
  assert.deepEqual(follow.inline.map((f) => f.relPath), ['src/small.ts']);
  assert.match(follow.promptText, /^ {2}guide\.md \[already sent\]$/m);
  assert.ok(!follow.promptText.includes('BEGIN FILE core/main.ts'));
  assert.match(follow.contextReport, /3 already sent earlier and unchanged/);
  // They are still in the conversation, so their recorded tokens come off this call's budget.
  const sentTokens = ctx.inline.filter((f) => f.relPath !== 'src/small.ts').reduce((a, f) => a + f.tokens, 0);
  assert.equal(follow.stats.alreadySentTokens, sentTokens);
  assert.ok(follow.stats.inlineTokens + sentTokens <= ctx.stats.budgetTokens);

  // Without a session nothing is tracked: everything is sent.
  const fresh = await prepareContext({ model, budget, paths: ['src', 'docs'], priorityPaths: ['core/main.ts'], roots: [root], signal: AbortSignal.timeout(patience(15_000)) });
  assert.equal(fresh.alreadySent.length, 0);
  assert.equal(fresh.inline.length, 4);
});

test('priority files over the budget are sent and reported; estimate family; omitted overflow', { timeout: patience(20_000) }, async (t) => {
  const root = tempTree({ 'big.ts': words(6_000, 'b'), 'a.ts': words(10, 'a') });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const ctx = await prepareContext({
    model: { contextWindow: 10_000, tokenizerFamily: 'estimate' }, budget: { reserveTokens: 0 }, overflow: 'omitted',
    paths: ['.'], priorityPaths: ['big.ts'], roots: [root], signal: AbortSignal.timeout(patience(15_000)),
  });
  assert.deepEqual(ctx.inline.map((f) => f.relPath), ['big.ts']);
  assert.deepEqual(ctx.overflow.map((f) => f.relPath), ['a.ts']);
  assert.equal(ctx.inline[0]!.tokens, Math.ceil(Buffer.byteLength(words(6_000, 'b')) / 3));
  assert.ok(ctx.stats.overBudgetTokens > 0);
  assert.match(ctx.contextReport, /Priority files exceed the budget by [\d,]+ tokens/);
  assert.match(ctx.contextReport, /estimated counts/);
  assert.match(ctx.promptText, /a\.ts \[not sent\]/);
  assert.doesNotMatch(ctx.promptText, /file_search/);
});

test('a tree too large for the budget is condensed to directories', { timeout: patience(20_000) }, async (t) => {
  const files: Record<string, string> = {};
  for (let d = 0; d < 20; d++) for (let f = 0; f < 40; f++) files[`pkg/module-${d}/component-file-${f}.ts`] = `export const v${f} = ${d};\n`;
  const root = tempTree(files);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const ctx = await prepareContext({
    model: { contextWindow: 30_000, tokenizerFamily: 'o200k' }, paths: ['.'], roots: [root], signal: AbortSignal.timeout(patience(15_000)),
  });
  assert.ok(ctx.stats.treeCondensed);
  assert.match(ctx.promptText, /^pkg\/module-7\/ \(40 files: /m);
  assert.ok(!ctx.promptText.includes('component-file-3.ts ['));
  assert.ok(referenceCount(ctx.promptText) <= ctx.stats.promptTokens);
  assert.ok(ctx.stats.promptTokens + ctx.stats.instructionsTokens <= 30_000 * 0.85);
});

test('invalid options fail fast with SB_ERR_INVALID_ARGUMENT; no paths means no context', { timeout: patience(10_000) }, async (t) => {
  const root = tempTree({ 'a.ts': 'a' });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const base = { paths: ['.'], roots: [root], signal: AbortSignal.timeout(patience(5_000)) };
  await assert.rejects(prepareContext({ ...base, model: { contextWindow: 0, tokenizerFamily: 'o200k' } }), { code: 'SB_ERR_INVALID_ARGUMENT' });
  await assert.rejects(prepareContext({ ...base, model: { contextWindow: 10, tokenizerFamily: 'gpt2' as never } }), { code: 'SB_ERR_INVALID_ARGUMENT' });
  await assert.rejects(prepareContext({ ...base, sessionId: 's', model: { contextWindow: 1_000, tokenizerFamily: 'o200k' } }), { code: 'SB_ERR_INVALID_ARGUMENT' });
  await assert.rejects(prepareContext({ ...base, paths: ['/etc'], model: { contextWindow: 1_000, tokenizerFamily: 'o200k' } }), { code: 'SB_ERR_PATH_OUTSIDE_ROOTS' });
  const empty = await prepareContext({ ...base, paths: [], model: { contextWindow: 1_000, tokenizerFamily: 'o200k' } });
  assert.equal(empty.promptText, '');
  assert.equal(empty.inline.length, 0);
});

test('countProjectTokens: totals, largest files and directories, skipped entries', { timeout: patience(20_000) }, async (t) => {
  const root = tempTree({
    'src/a/big.ts': words(1_000, 'x'), 'src/a/small.ts': words(10, 'y'), 'src/b/mid.ts': words(200, 'z'), 'README.md': words(5, 'r'),
    '.env': 'K=1', '.gitignore': 'ignored.txt\n', 'ignored.txt': 'nope',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = await countProjectTokens({ paths: ['.'], roots: [root], signal: AbortSignal.timeout(patience(15_000)) });
  const expect = (s: string) => referenceCount(s);
  assert.equal(r.totalFiles, 5);
  assert.equal(r.contentTokens, expect(words(1_000, 'x')) + expect(words(10, 'y')) + expect(words(200, 'z')) + expect(words(5, 'r')) + expect('ignored.txt\n'));
  assert.deepEqual(r.largestFiles[0], { path: 'src/a/big.ts', tokens: expect(words(1_000, 'x')) });
  assert.deepEqual(r.largestDirs.map((d) => d.path), ['src/', 'src/a/', 'src/b/']);
  assert.deepEqual(r.skipped, [{ path: '.env', reason: 'secret' }]);
  assert.equal(r.gitignored, 1);
});
