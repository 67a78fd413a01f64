import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bySizeThenPath, splitBudget, type BudgetFile } from './budget.ts';

const f = (relPath: string, tokens: number, priority = false): BudgetFile => ({ relPath, tokens, priority });

test('budget = floor(window × fraction) − reserve − instructions', () => {
  const s = splitBudget({ files: [], contextWindow: 10_000, fraction: 0.5, reserveTokens: 1_000, instructionsTokens: 500 });
  assert.equal(s.budgetTokens, 3_500);
  const d = splitBudget({ files: [], contextWindow: 200_000, instructionsTokens: 0 });
  assert.equal(d.budgetTokens, 200_000 * 0.85 - 8_000);
  assert.equal(splitBudget({ files: [], contextWindow: 1_000, instructionsTokens: 5_000 }).budgetTokens, 0);
});

test('smallest files go inline first; the rest overflow; output is ordered by path', () => {
  const s = splitBudget({
    files: [f('big.ts', 600), f('c.ts', 100), f('a.ts', 300), f('b.ts', 100), f('mid.ts', 550)],
    contextWindow: 1_000, fraction: 1, reserveTokens: 0, instructionsTokens: 0,
  });
  assert.deepEqual(s.inline.map((x) => x.relPath), ['a.ts', 'b.ts', 'c.ts']);
  assert.deepEqual(s.overflow.map((x) => x.relPath), ['big.ts', 'mid.ts']);
  assert.equal(s.usedTokens, 500);
  assert.equal(s.overBudgetTokens, 0);
});

test('priority files are always inline, even over budget, and the excess is reported', () => {
  const s = splitBudget({
    files: [f('huge.ts', 5_000, true), f('small.ts', 1)],
    contextWindow: 1_000, fraction: 1, reserveTokens: 0, instructionsTokens: 0,
  });
  assert.deepEqual(s.inline.map((x) => x.relPath), ['huge.ts']);
  assert.deepEqual(s.overflow.map((x) => x.relPath), ['small.ts']);
  assert.equal(s.usedTokens, 5_000);
  assert.equal(s.overBudgetTokens, 4_000);
});

test('priority files take their share before the others', () => {
  const s = splitBudget({
    files: [f('p.ts', 700, true), f('a.ts', 200), f('b.ts', 200)],
    contextWindow: 1_000, fraction: 1, reserveTokens: 0, instructionsTokens: 0,
  });
  assert.deepEqual(s.inline.map((x) => x.relPath), ['a.ts', 'p.ts']);
  assert.deepEqual(s.overflow.map((x) => x.relPath), ['b.ts']);
});

test('invalid options are rejected, naming the option', () => {
  for (const [opts, name] of [
    [{ contextWindow: 0 }, 'contextWindow'], [{ contextWindow: 10, fraction: 1.5 }, 'fraction'],
    [{ contextWindow: 10, reserveTokens: -1 }, 'reserveTokens'], [{ contextWindow: 10, instructionsTokens: Number.NaN }, 'instructionsTokens'],
  ] as const) {
    assert.throws(() => splitBudget({ files: [], instructionsTokens: 0, ...opts }), (e: { code: string; message: string }) => e.code === 'SB_ERR_INVALID_ARGUMENT' && e.message.includes(name));
  }
  assert.throws(() => splitBudget({ files: [f('x', -1)], contextWindow: 10, instructionsTokens: 0 }), { code: 'SB_ERR_INVALID_ARGUMENT' });
});

test('properties: a partition, within budget, greedy-maximal, deterministic', () => {
  const fileArb = fc.record({ relPath: fc.string({ minLength: 1, maxLength: 6 }), tokens: fc.nat(2_000), priority: fc.boolean() });
  fc.assert(fc.property(
    fc.uniqueArray(fileArb, { selector: (x) => x.relPath, maxLength: 40 }),
    fc.integer({ min: 1, max: 50_000 }),
    (files, window) => {
      const s = splitBudget({ files, contextWindow: window, fraction: 1, reserveTokens: 0, instructionsTokens: 0 });
      assert.equal(s.inline.length + s.overflow.length, files.length);
      assert.deepEqual(new Set([...s.inline, ...s.overflow]), new Set(files));
      for (const p of files.filter((x) => x.priority)) assert.ok(s.inline.includes(p));
      const priorityTokens = files.filter((x) => x.priority).reduce((a, x) => a + x.tokens, 0);
      if (priorityTokens <= s.budgetTokens) assert.ok(s.usedTokens <= s.budgetTokens);
      assert.equal(s.overBudgetTokens, Math.max(0, priorityTokens - s.budgetTokens));
      // No overflowed file would have fitted in what is left.
      for (const o of s.overflow) assert.ok(s.usedTokens + o.tokens > s.budgetTokens);
      const again = splitBudget({ files: [...files].reverse(), contextWindow: window, fraction: 1, reserveTokens: 0, instructionsTokens: 0 });
      assert.deepEqual(again.inline, s.inline);
    },
  ), { numRuns: 300 });
});

test('KI-12: the packed size sort orders exactly as the comparator sort (size, then path order)', () => {
  fc.assert(fc.property(
    fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })), { maxLength: 300 }),
    (tokens) => {
      const files = tokens.map((t, i) => f(`f${String(i).padStart(4, '0')}`, t));
      const indices = files.map((_, i) => i).reverse();
      const expected = [...indices].sort((a, b) => files[a]!.tokens - files[b]!.tokens || a - b);
      assert.deepEqual([...bySizeThenPath([...indices], files)], expected);
    },
  ), { numRuns: 500 });
  // Counts that cannot be packed exactly take the comparator path, with the same order.
  const odd = [f('a', 2.5), f('b', 1), f('c', 2.5)];
  assert.deepEqual([...bySizeThenPath([2, 1, 0], odd)], [1, 0, 2]);
});
