/**
 * Prompt layout: how much room the file tree takes, whether it is shown in full or condensed,
 * and which files fit inline around it.
 *
 * The tree lists every file, so its size is known before the split up to the marks. Its cost
 * is measured with the longest mark and the tree is condensed when it would take more than
 * CONTEXT_TREE_MAX_BUDGET_FRACTION (20 %) of the budget. Each step walks every file on the
 * event loop, so the steps are separated by turns of the loop (about 10 ms each for 20,000
 * files).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DEFAULTS } from '../config/defaults.ts';
import { throwIfAborted } from '../errors.ts';
import { type BudgetSplit, splitBudget } from './budget.ts';
import { type FileMark, type TreeEntry, renderCondensedTree, renderFullTreeAsync } from './file-tree.ts';
import { type OverflowMode, delimiterTokens } from './prompt.ts';
import { countTokens } from './tokenizer.ts';
import type { TokenizedFile, TokenizerFamily } from './types.ts';

export const PROMPT_FRAME_TOKENS = DEFAULTS.PROMPT_FRAME_TOKENS;

/**
 * Bytes per token that tree lines (name and mark, indentation left out) stay below with
 * o200k; they run at 3–5. A tree whose line bytes divided by this still exceed the tree
 * budget is condensed without rendering and counting it in full.
 */
const TREE_MAX_BYTES_PER_TOKEN = 6;

export interface LayoutInput {
  /** Files that may go inline, with content token counts. */
  files: TokenizedFile[];
  /** Paths of files already sent in this session (listed, not resent). */
  alreadySent: readonly string[];
  /** Tokens those files still take in the conversation. */
  alreadySentTokens: number;
  instructions: string;
  contextWindow: number;
  fraction: number;
  reserveTokens: number;
  family: TokenizerFamily;
  overflowMode: OverflowMode;
  signal: AbortSignal;
}

type Costed = { file: TokenizedFile; relPath: string; priority: boolean; tokens: number };

export interface Layout {
  split: BudgetSplit<Costed>;
  inline: TokenizedFile[];
  overflow: TokenizedFile[];
  tree: string;
  treeCondensed: boolean;
  treeTokens: number;
  instructionsTokens: number;
  marks: Set<FileMark>;
  totalEntries: number;
}

export async function layoutPrompt(input: LayoutInput): Promise<Layout> {
  const { signal, family } = input;
  const alreadyEntries: TreeEntry[] = input.alreadySent.map((relPath) => ({ relPath, mark: 'already sent' }));
  const placeholder: TreeEntry[] = alreadyEntries.concat(input.files.map((f) => ({ relPath: f.relPath, mark: 'vector store' })));
  const rawBudget = Math.max(0, Math.floor(input.contextWindow * input.fraction) - input.reserveTokens);
  const treeBudget = rawBudget * DEFAULTS.CONTEXT_TREE_MAX_BUDGET_FRACTION;
  await turn(signal);

  let instructionsTokens: number;
  let treeCondensed: boolean;
  let treeTokens = 0;
  if (fullTreeBytes(placeholder) / TREE_MAX_BYTES_PER_TOKEN > treeBudget) {
    treeCondensed = true;
    [instructionsTokens] = (await countTokens([input.instructions], family, signal)) as [number];
  } else {
    const full = await renderFullTreeAsync(placeholder, signal);
    [instructionsTokens, treeTokens] = (await countTokens([input.instructions, full], family, signal)) as [number, number];
    treeCondensed = treeTokens > treeBudget;
  }
  if (treeCondensed) [treeTokens] = (await countTokens([renderCondensedTree(placeholder)], family, signal)) as [number];
  const render = async (entries: TreeEntry[]) => (treeCondensed ? renderCondensedTree(entries) : renderFullTreeAsync(entries, signal));

  const costed: Costed[] = input.files.map((f) => ({ file: f, relPath: f.relPath, priority: f.priority, tokens: f.tokens + delimiterTokens(f.relPath) }));
  // Costing every path and splitting the budget each walk all the files: a turn between
  // them keeps the two from holding the loop as one piece (~50 ms at 50,000 files, KI-12).
  await turn(signal);
  const overflowMark: FileMark = input.overflowMode === 'vector-store' ? 'vector store' : 'not sent';
  // Files sent earlier in the session are still in the conversation, so they take room too.
  const split = (reserveForTree: number) => splitBudget({
    files: costed, contextWindow: input.contextWindow, fraction: input.fraction, reserveTokens: input.reserveTokens,
    instructionsTokens: instructionsTokens + reserveForTree + PROMPT_FRAME_TOKENS + input.alreadySentTokens,
  });
  const marksFor = (s: BudgetSplit<Costed>): TreeEntry[] => alreadyEntries.concat(
    s.inline.map((c) => ({ relPath: c.relPath, mark: 'inline' })),
    s.overflow.map((c) => ({ relPath: c.relPath, mark: overflowMark })),
  );
  await turn(signal);
  let s = split(treeTokens);
  await turn(signal);
  let entries = marksFor(s);
  let tree = await render(entries);
  if (treeCondensed) {
    // Per-mark counts can make condensed lines longer than the placeholder's; re-split once on the real cost.
    const [actual] = (await countTokens([tree], family, signal)) as [number];
    if (actual > treeTokens) {
      treeTokens = actual;
      s = split(treeTokens);
      await turn(signal);
      entries = marksFor(s);
      tree = await render(entries);
    }
  }
  await turn(signal);
  const marks = new Set<FileMark>();
  if (alreadyEntries.length > 0) marks.add('already sent');
  if (s.inline.length > 0) marks.add('inline');
  if (s.overflow.length > 0) marks.add(overflowMark);
  return {
    split: s, inline: s.inline.map((c) => c.file), overflow: s.overflow.map((c) => c.file),
    tree, treeCondensed, treeTokens, instructionsTokens, marks, totalEntries: entries.length,
  };
}

/**
 * A lower bound of the full tree's size without rendering it: file names and marks only
 * (indentation costs little with o200k, which merges runs of spaces; directory lines are few).
 */
function fullTreeBytes(entries: readonly TreeEntry[]): number {
  let bytes = 0;
  for (const e of entries) bytes += e.relPath.length - e.relPath.lastIndexOf('/') - 1 + e.mark.length + 4;
  return bytes;
}

/**
 * Yields to the event loop between steps that walk every file, so pending timers and I/O run
 * between them rather than after all of them.
 */
export async function turn(signal: AbortSignal): Promise<void> {
  await yieldToLoop();
  throwIfAborted(signal);
}
