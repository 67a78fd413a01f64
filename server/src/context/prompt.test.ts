import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderCondensedTree, renderFullTree, type TreeEntry } from './file-tree.ts';
import { buildContextReport, buildPromptText } from './prompt.ts';

test('the full tree lists every file with its mark, nested by directory', () => {
  const tree = renderFullTree([
    { relPath: 'src/b.ts', mark: 'vector store' }, { relPath: 'README.md', mark: 'inline' },
    { relPath: 'src/a.ts', mark: 'inline' }, { relPath: 'src/lib/x.ts', mark: 'already sent' }, { relPath: 'src-extra/y.ts', mark: 'inline' },
  ]);
  assert.equal(tree, [
    'README.md [inline]', 'src-extra/', '  y.ts [inline]', 'src/', '  a.ts [inline]', '  b.ts [vector store]', '  lib/', '    x.ts [already sent]',
  ].join('\n'));
});

test('the condensed tree counts per directory and stays within its line cap', () => {
  const entries: TreeEntry[] = [];
  for (let d = 0; d < 30; d++) for (let f = 0; f < 5; f++) entries.push({ relPath: `pkg/m${d}/f${f}.ts`, mark: f === 0 ? 'inline' : 'vector store' });
  entries.push({ relPath: 'top.ts', mark: 'inline' });
  const deep = renderCondensedTree(entries, 100);
  assert.ok(deep.includes('pkg/m7/ (5 files: 1 inline, 4 vector store)'), deep);
  assert.ok(deep.includes('./ (1 file: 1 inline)'));
  const shallow = renderCondensedTree(entries, 10);
  assert.equal(shallow, ['./ (1 file: 1 inline)', 'pkg/ (150 files: 30 inline, 120 vector store)'].join('\n'));
});

test('prompt: legend, delimited contents and the file_search instruction only with overflow', () => {
  const base = {
    tree: 'a.ts [inline]\nb.ts [vector store]', treeCondensed: false, totalFiles: 2,
    marks: new Set(['inline', 'vector store'] as const), inline: [{ relPath: 'a.ts', text: 'const a = 1;' }],
    overflowCount: 1, overflowMode: 'vector-store' as const,
  };
  const p = buildPromptText(base);
  assert.ok(p.includes('- [inline]: the full content is below'));
  assert.ok(p.includes('- [vector store]:'));
  assert.ok(!p.includes('[already sent]:'));
  assert.ok(p.includes('----- BEGIN FILE a.ts -----\nconst a = 1;\n----- END FILE a.ts -----\n'));
  assert.match(p, /file_search/);
  const none = buildPromptText({ ...base, overflowCount: 0, marks: new Set(['inline'] as const) });
  assert.doesNotMatch(none, /file_search/);
  const omitted = buildPromptText({ ...base, overflowMode: 'omitted', marks: new Set(['inline', 'not sent'] as const) });
  assert.doesNotMatch(omitted, /file_search/);
  assert.match(omitted, /\[not sent\]/);
});

test('context report: counts, tokens, over-budget note and skipped files with reasons', () => {
  const r = buildContextReport({
    totalFiles: 12, inlineFiles: 5, overflowFiles: 6, overflowMode: 'vector-store', alreadySentFiles: 1, alreadySentTokens: 300,
    inlineTokens: 52_310, budgetTokens: 161_000, contextWindow: 200_000, tokenizerFamily: 'o200k', overBudgetTokens: 1_200,
    treeCondensed: false, skipped: [{ path: '.env', reason: 'secret' }, { path: 'logo.png', reason: 'binary' }, { path: 'x.png', reason: 'binary' }],
    skippedTotal: 4, gitignored: 9, elapsedMs: 1234,
  });
  assert.match(r, /12 files in scope: 5 inline, 6 in the vector store, 1 already sent/);
  assert.match(r, /52,310 inline of a 161,000-token budget/);
  assert.match(r, /exceed the budget by 1,200 tokens/);
  assert.match(r, /Skipped 4: 2 binary, 1 secret, 1 more not itemised/);
  assert.match(r, /^ {2}\.env \(secret\)$/m);
  assert.match(r, /9 entries left out by \.gitignore/);
});
