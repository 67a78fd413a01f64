import { test } from 'node:test';
import assert from 'node:assert/strict';
import { searchFiles } from './search.ts';
import type { FileRecord } from './state.ts';

function file(n: number, words: string): FileRecord {
  const content = `${words} ${'filler text about nothing much '.repeat(70)} entry${n}`;
  return { id: `file-${n}`, filename: `f${n}.md`, purpose: 'assistants', bytes: content.length, createdAt: 0, content };
}

test('search: each file is tokenised once, not on every search', () => {
  const files = Array.from({ length: 50 }, (_, i) => file(i, i % 2 ? 'login handler' : 'billing report'));
  const original = String.prototype.toLowerCase;
  let fullScans = 0;
  String.prototype.toLowerCase = function (this: string) {
    if (this.length > 1_000) fullScans++;
    return original.call(this);
  };
  try {
    for (let i = 0; i < 10; i++) searchFiles(files, 'login handler', 5);
  } finally {
    String.prototype.toLowerCase = original;
  }
  assert.ok(fullScans <= files.length, `content lower-cased ${fullScans} times for ${files.length} files over 10 searches`);
});

test('search: scores by the share of query terms, ties by name, excerpts around the match', () => {
  const files = [file(1, 'login handler'), file(2, 'login only'), file(3, 'nothing')];
  const hits = searchFiles(files, 'Login HANDLER', 10);
  assert.deepEqual(hits.map((h) => [h.file.filename, h.score]), [['f1.md', 1], ['f2.md', 0.5]]);
  assert.match(hits[0]!.excerpt, /login handler/);
  assert.deepEqual(searchFiles(files, 'entry3', 10).map((h) => h.file.filename), ['f3.md']);
  assert.deepEqual(searchFiles(files, '', 10), []);
});
