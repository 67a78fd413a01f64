/**
 * The token budget split: which files go inline in the prompt and which overflow to the
 * vector store. A pure function; no I/O.
 */
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError } from '../errors.ts';

/** What the split needs to know of a file. */
export interface BudgetFile {
  relPath: string;
  priority: boolean;
  /** Tokens the file costs inline (content plus its delimiters). */
  tokens: number;
}

export interface BudgetInput<T extends BudgetFile> {
  files: readonly T[];
  /** The model's context window, in tokens. */
  contextWindow: number;
  /** Share of the window the prompt may use. Default DEFAULTS.CONTEXT_BUDGET_FRACTION (0.85). */
  fraction?: number;
  /** Tokens kept back for the answer and framing. Default DEFAULTS.CONTEXT_RESERVE_TOKENS (8,000). */
  reserveTokens?: number;
  /** Tokens already taken by instructions, system prompt and file tree. */
  instructionsTokens: number;
}

export interface BudgetSplit<T extends BudgetFile> {
  /** Files sent inline, ordered by path (a stable prompt prefix lets providers cache it). */
  inline: T[];
  /** Files that did not fit, ordered by path. */
  overflow: T[];
  /** Tokens available for file content: floor(window × fraction) − reserve − instructions, at least 0. */
  budgetTokens: number;
  /** Tokens of the inline files. */
  usedTokens: number;
  /** How far priority files alone exceed the budget (0 when they fit). */
  overBudgetTokens: number;
}

/**
 * Splits files between inline and overflow.
 *
 * Priority files are always inline, even past the budget (the caller asked for them by
 * name; `overBudgetTokens` reports the excess so the answer can say so). The rest are taken
 * smallest first while they fit. Why smallest first: a file is useful inline only whole, and
 * filling the budget with the most whole files gives the model the most of the project's
 * structure; file_search, in turn, does best on exactly the large files left over, since it
 * retrieves chunks of them, while many small files would fragment into poorly ranked
 * chunks. Once one file does not fit, no larger one can, so the scan stops there. Ties are
 * broken by path so the split is deterministic.
 *
 * @example splitBudget({ files, contextWindow: 200_000, instructionsTokens: 1_200 })
 */
export function splitBudget<T extends BudgetFile>(input: BudgetInput<T>): BudgetSplit<T> {
  const fraction = input.fraction ?? DEFAULTS.CONTEXT_BUDGET_FRACTION;
  const reserve = input.reserveTokens ?? DEFAULTS.CONTEXT_RESERVE_TOKENS;
  checkNumber('contextWindow', input.contextWindow, (v) => v > 0, 'a positive number of tokens');
  checkNumber('fraction', fraction, (v) => v > 0 && v <= 1, 'a number in (0, 1]');
  checkNumber('reserveTokens', reserve, (v) => v >= 0, 'a non-negative number of tokens');
  checkNumber('instructionsTokens', input.instructionsTokens, (v) => v >= 0, 'a non-negative number of tokens');
  if (!Array.isArray(input.files)) throw invalid('files', 'an array');
  for (const f of input.files) {
    if (!Number.isFinite(f.tokens) || f.tokens < 0) throw invalid('files[].tokens', `a non-negative number (got ${String(f.tokens)} for ${f.relPath})`);
  }

  const budgetTokens = Math.max(0, Math.floor(input.contextWindow * fraction) - reserve - input.instructionsTokens);
  // Work on indices into a path-ordered copy: the size sort then compares numbers only, ties
  // fall back to path order through the index, and both outputs come out path-ordered by
  // filtering, without sorting objects by string (this runs on the event loop for up to
  // MAX_FILES files).
  const files = isSortedByPath(input.files) ? input.files : [...input.files].sort(byPath);
  const isInline = new Uint8Array(files.length);
  let used = 0;
  const rest: number[] = [];
  for (let i = 0; i < files.length; i++) {
    if (files[i]!.priority) {
      isInline[i] = 1;
      used += files[i]!.tokens;
    } else {
      rest.push(i);
    }
  }
  const overBudgetTokens = Math.max(0, used - budgetTokens);
  for (const i of bySizeThenPath(rest, files)) {
    if (used + files[i]!.tokens > budgetTokens) break;
    isInline[i] = 1;
    used += files[i]!.tokens;
  }
  const inline: T[] = [];
  const overflow: T[] = [];
  for (let i = 0; i < files.length; i++) (isInline[i] ? inline : overflow).push(files[i]);
  return { inline, overflow, budgetTokens, usedTokens: used, overBudgetTokens };
}

/**
 * `indices` ordered by token count, ties by index (path order). For integer counts the
 * pair is packed into one float64 key (count * 2^20 + index, exact below 2^53) and sorted
 * as numbers with no comparator: at 50,000 files the comparator sort alone held the
 * event loop for ~20 ms of a 46 ms stall (KI-12, measured), the packed sort takes a few.
 */
export function bySizeThenPath(indices: number[], files: readonly BudgetFile[]): Iterable<number> {
  const SHIFT = 1_048_576;
  const packable = files.length < SHIFT && indices.every((i) => Number.isInteger(files[i]!.tokens) && files[i]!.tokens < 2 ** 32);
  if (!packable) return indices.sort((a, b) => files[a]!.tokens - files[b]!.tokens || a - b);
  const keys = new Float64Array(indices.length);
  for (let k = 0; k < indices.length; k++) keys[k] = files[indices[k]!]!.tokens * SHIFT + indices[k]!;
  keys.sort();
  const out = new Uint32Array(keys.length);
  for (let k = 0; k < keys.length; k++) out[k] = keys[k]! % SHIFT;
  return out;
}

function isSortedByPath(files: readonly BudgetFile[]): boolean {
  for (let i = 1; i < files.length; i++) if (files[i - 1]!.relPath > files[i]!.relPath) return false;
  return true;
}

function byPath(a: BudgetFile, b: BudgetFile): number {
  return a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0;
}

function checkNumber(name: string, v: unknown, ok: (v: number) => boolean, accepted: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw invalid(name, `${accepted} (got ${String(v)})`);
}

function invalid(name: string, accepted: string): SbError {
  return new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to split the context budget: ${name} must be ${accepted}.`, { details: { option: name } });
}
