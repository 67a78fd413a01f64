/**
 * `count_project_tokens`: what a chat call over the same paths would send, not just the
 * files' own tokens. A call frames every inline file with BEGIN/END lines and lists every
 * file in a tree; for 10,000 small files that framing was 90 % of the request (39,800 tokens
 * of content, 467,890 sent). So the count is made of the same parts the prompt is built
 * from — content, per-file framing, the file tree and the prompt's fixed text — for each
 * tokenizer family (exact o200k for OpenAI models, the bytes/3 estimate for the others),
 * and, for a named model, the split the call would make: inline, overflow, and the prompt's
 * exact token count as `prepareContext` would build it.
 *
 * Memory: the gathered bytes are released when this returns; the result holds only totals,
 * the top-N lists and the (bounded) skipped list.
 */
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError } from '../errors.ts';
import { fileContent } from './content.ts';
import { renderFullTreeAsync, type TreeEntry } from './file-tree.ts';
import { type GatherLimits, gatherFiles } from './gather.ts';
import { PROMPT_FRAME_TOKENS, layoutPrompt, turn } from './layout.ts';
import { buildPromptText, fileFooter, fileHeader, type OverflowMode } from './prompt.ts';
import { ESTIMATE_BYTES_PER_TOKEN, analyzeTexts, countTokens } from './tokenizer.ts';
import type { GatheredFile, ProgressFn, SkippedEntry, TokenizedFile, TokenizerFamily } from './types.ts';

export interface CountProjectTokensOptions {
  paths: readonly string[];
  roots: readonly string[];
  signal: AbortSignal;
  /** Family of `totalTokens`, `largestFiles` and `largestDirs`. Default 'o200k' (or the model's). */
  tokenizerFamily?: TokenizerFamily;
  /** When given: how a call to this model would split the files (inline / overflow) and its prompt tokens. */
  model?: { id: string; contextWindow: number; tokenizerFamily: TokenizerFamily; overflow: OverflowMode };
  onProgress?: ProgressFn;
  limits?: Partial<GatherLimits>;
  /** Entries in `largestFiles` and `largestDirs`. Default 20. */
  top?: number;
  /** gitignore-syntax patterns, as a chat call takes them (see `GatherOptions.include` / `exclude`). Default []. */
  include?: readonly string[];
  exclude?: readonly string[];
}

/** What a call would send if every file went inline, by part, in one tokenizer family. */
export interface FamilyCount {
  /** The files' own content. */
  contentTokens: number;
  /** BEGIN/END lines around each file. */
  framingTokens: number;
  /** The file tree listing every file. */
  treeTokens: number;
  /** Headings, legend and instructions of the prompt (fixed). */
  frameTokens: number;
  /** content + framing + tree + frame: the context part of a call with everything inline. */
  totalTokens: number;
}

export interface ModelSplit {
  model: string;
  contextWindow: number;
  tokenizerFamily: TokenizerFamily;
  budgetTokens: number;
  inlineFiles: number;
  /** Content and framing of the inline files. */
  inlineTokens: number;
  overflowFiles: number;
  overflowTokens: number;
  overflowBytes: number;
  overflow: OverflowMode;
  /** Tokens of the context text the call would send (tree, inline files, instructions to the model), counted on the built text. */
  promptTokens: number;
  treeCondensed: boolean;
  /** Documents the overflow would be packed into (vector store only). */
  overflowBundles: number;
}

export interface ProjectTokenCount {
  /** What a call would send with every file inline, in `tokenizerFamily` (content, framing, tree, prompt frame). */
  totalTokens: number;
  /** The files' own tokens only (the figure earlier versions reported as the total). */
  contentTokens: number;
  tokenizerFamily: TokenizerFamily;
  totalFiles: number;
  totalBytes: number;
  /** The same parts per family: OpenAI models count with o200k, xAI and Gemini with the estimate. */
  families: Record<TokenizerFamily, FamilyCount>;
  /** Present when a model was named. */
  split?: ModelSplit;
  /** Largest files by tokens, largest first. */
  largestFiles: Array<{ path: string; tokens: number }>;
  /** Directories by tokens of everything under them, largest first (`dir/`). */
  largestDirs: Array<{ path: string; tokens: number }>;
  /** Entries left out with their reason (bounded at CONTEXT_SKIPPED_LIST_MAX; `skippedTotal` counts them all). */
  skipped: SkippedEntry[];
  skippedTotal: number;
  gitignored: number;
  /** Files no `include` pattern matched (counted, not listed). */
  notIncluded: number;
  elapsedMs: number;
}

function estimate(bytes: number): number {
  return Math.ceil(bytes / ESTIMATE_BYTES_PER_TOKEN);
}

/** BEGIN/END lines of every file, as prompt.ts writes them, joined in pieces of bounded size. */
function framingTexts(files: readonly GatheredFile[]): string[] {
  const out: string[] = [];
  let part: string[] = [];
  let chars = 0;
  for (const f of files) {
    const s = fileHeader(f.relPath) + fileFooter(f.relPath);
    part.push(s);
    chars += s.length;
    if (chars >= DEFAULTS.CONTEXT_WORKER_BATCH_MAX_CHARS) { out.push(part.join('')); part = []; chars = 0; }
  }
  if (part.length) out.push(part.join(''));
  return out;
}

/**
 * Counts what a chat call over `paths` would send (same gathering rules: .gitignore,
 * excluded directories, binaries and secrets skipped).
 * @example const r = await countProjectTokens({ paths: ['.'], roots: ['/repo'], signal, model: { id: 'o3', contextWindow: 200_000, tokenizerFamily: 'o200k', overflow: 'vector-store' } });
 */
export async function countProjectTokens(opts: CountProjectTokensOptions): Promise<ProjectTokenCount> {
  const started = performance.now();
  const { signal } = opts;
  const family = opts.tokenizerFamily ?? opts.model?.tokenizerFamily ?? 'o200k';
  const top = opts.top ?? 20;
  if (!Number.isInteger(top) || top < 0) throw invalid('top', `a non-negative integer (got ${String(top)})`);
  const g = await gatherFiles({ paths: opts.paths, roots: opts.roots, signal, limits: opts.limits, onProgress: opts.onProgress, include: opts.include, exclude: opts.exclude });
  const files = g.files;
  const texts = files.map(fileContent);
  const exact = (await analyzeTexts(texts, { count: true, hash: false }, signal,
    (d, t) => opts.onProgress?.(d, t, `Counting tokens: ${d}/${t} files`))).tokens!;
  const estimated = await countTokens(texts, 'estimate', signal);
  await turn(signal);

  const framing = framingTexts(files);
  const tree = files.length ? await renderFullTreeAsync(files.map((f): TreeEntry => ({ relPath: f.relPath, mark: 'inline' })), signal) : '';
  const [framingExact, treeExact] = files.length
    ? await Promise.all([countTokens(framing, 'o200k', signal).then((n) => n.reduce((a, b) => a + b, 0)), countTokens([tree], 'o200k', signal).then((n) => n[0]!)])
    : [0, 0];
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const frame = files.length ? PROMPT_FRAME_TOKENS : 0;
  const part = (content: number, framingT: number, treeT: number): FamilyCount => ({
    contentTokens: content, framingTokens: framingT, treeTokens: treeT, frameTokens: frame, totalTokens: content + framingT + treeT + frame,
  });
  const families: Record<TokenizerFamily, FamilyCount> = {
    o200k: part(sum(exact), framingExact, treeExact),
    estimate: part(sum(estimated), estimate(framing.reduce((n, s) => n + Buffer.byteLength(s), 0)), estimate(Buffer.byteLength(tree))),
  };
  const tokens = family === 'o200k' ? exact : estimated;

  let split: ModelSplit | undefined;
  if (opts.model) split = await splitFor(opts.model, files, opts.model.tokenizerFamily === 'o200k' ? exact : estimated, signal);

  let totalBytes = 0;
  const dirs = new Map<string, number>();
  const perFile = files.map((f, i) => {
    const n = tokens[i]!;
    totalBytes += f.size;
    const parts = f.relPath.split('/');
    for (let d = 1; d < parts.length; d++) {
      const key = parts.slice(0, d).join('/') + '/';
      dirs.set(key, (dirs.get(key) ?? 0) + n);
    }
    return { path: f.relPath, tokens: n };
  });
  const byTokens = (a: { path: string; tokens: number }, b: { path: string; tokens: number }) => b.tokens - a.tokens || (a.path < b.path ? -1 : 1);
  return {
    totalTokens: families[family].totalTokens,
    contentTokens: families[family].contentTokens,
    tokenizerFamily: family,
    totalFiles: files.length,
    totalBytes,
    families,
    ...(split ? { split } : {}),
    largestFiles: perFile.sort(byTokens).slice(0, top),
    largestDirs: [...dirs].map(([path, t]) => ({ path, tokens: t })).sort(byTokens).slice(0, top),
    skipped: g.skipped,
    skippedTotal: g.stats.skipped,
    gitignored: g.stats.gitignored,
    notIncluded: g.stats.notIncluded,
    elapsedMs: Math.round(performance.now() - started),
  };
}

/** The split `prepareContext` would make for `model` on a first call (nothing sent yet), and the built prompt's tokens. */
async function splitFor(model: NonNullable<CountProjectTokensOptions['model']>, files: GatheredFile[], tokens: number[], signal: AbortSignal): Promise<ModelSplit> {
  const tokenized: TokenizedFile[] = files.map((f, i) => Object.assign(f, { tokens: tokens[i]! }));
  const layout = await layoutPrompt({
    files: tokenized, alreadySent: [], alreadySentTokens: 0, instructions: '', contextWindow: model.contextWindow,
    fraction: DEFAULTS.CONTEXT_BUDGET_FRACTION, reserveTokens: DEFAULTS.CONTEXT_RESERVE_TOKENS, family: model.tokenizerFamily, overflowMode: model.overflow, signal,
  });
  const promptText = files.length === 0 ? '' : buildPromptText({
    tree: layout.tree, treeCondensed: layout.treeCondensed, totalFiles: layout.totalEntries, marks: layout.marks,
    inline: layout.inline, overflowCount: layout.overflow.length, overflowMode: model.overflow,
  });
  const [promptTokens] = (await countTokens([promptText], model.tokenizerFamily, signal)) as [number];
  const overflowBytes = layout.overflow.reduce((n, f) => n + f.size, 0);
  return {
    model: model.id, contextWindow: model.contextWindow, tokenizerFamily: model.tokenizerFamily, budgetTokens: layout.split.budgetTokens,
    inlineFiles: layout.inline.length, inlineTokens: layout.split.usedTokens,
    overflowFiles: layout.overflow.length, overflowTokens: layout.overflow.reduce((n, f) => n + f.tokens, 0), overflowBytes,
    overflow: model.overflow, promptTokens, treeCondensed: layout.treeCondensed,
    overflowBundles: model.overflow === 'vector-store' && layout.overflow.length > 0 ? Math.max(1, Math.ceil(overflowBytes / DEFAULTS.VECTOR_BUNDLE_MIN_BYTES)) : 0,
  };
}

function invalid(option: string, accepted: string): SbError {
  return new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to count project tokens: ${option} must be ${accepted}.`, { details: { option } });
}
