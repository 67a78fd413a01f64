/**
 * The context engine's public entry: turns the paths a tool call names into the text sent to
 * the model, the list of files that overflow to the vector store, and a report for the user.
 *
 *   validate paths → gather (async, bounded I/O) → drop files already sent in this session
 *   → count tokens (worker pool) → split the budget → assemble the prompt and the report.
 */
import type { Db } from '../state/db.ts';
import { ErrorCode, SbError, throwIfAborted } from '../errors.ts';
import { DEFAULTS } from '../config/defaults.ts';
import { fileContent } from './content.ts';
import { type GatherLimits, gatherFiles } from './gather.ts';
import { gatherIoLimiter, type LimiterStats } from './limiter.ts';
import { type OverflowMode, buildContextReport, buildPromptText } from './prompt.ts';
import { PROMPT_FRAME_TOKENS, layoutPrompt } from './layout.ts';
import { filterUnchanged } from './sent-files.ts';
import { analyzeTexts, countTokens, hashContent } from './tokenizer.ts';
import { contextWorkerStats } from './workers.ts';
import { secretsReport } from './secrets.ts';
import type { WorkerPoolStats } from './worker-pool.ts';
import type { GatheredFile, ProgressFn, SkippedEntry, TokenizedFile, TokenizerFamily } from './types.ts';

export type { GatheredFile, ProgressFn, SkippedEntry, TokenizedFile, TokenizerFamily } from './types.ts';
export type { GatherLimits } from './gather.ts';
export type { OverflowMode } from './prompt.ts';
export type { WorkerPoolStats } from './worker-pool.ts';
export type { LimiterStats } from './limiter.ts';
export { countTokens } from './tokenizer.ts';
export { closeContextWorkers } from './workers.ts';
export { recordSent, forgetSent } from './sent-files.ts';
export { fileContent } from './content.ts';
export { countProjectTokens } from './count-project.ts';

export interface PrepareContextOptions {
  /** State database; needed only with `sessionId`. */
  db?: Db;
  /** Session key for "already sent" tracking. Omit it to send everything (no tracking). */
  sessionId?: string;
  model: {
    /** Context window in tokens. */
    contextWindow: number;
    /** 'o200k' for OpenAI models (exact), 'estimate' for xAI and Gemini (bytes / 3.0). */
    tokenizerFamily: TokenizerFamily;
  };
  /** Files and directories, absolute or relative to the first root. */
  paths: readonly string[];
  /** Files and directories always sent inline, even past the budget. Default []. */
  priorityPaths?: readonly string[];
  /** Absolute directories the client allows. */
  roots: readonly string[];
  /** The question and system text the provider sends alongside; counted against the budget, not included in `promptText`. Default ''. */
  instructions?: string;
  signal: AbortSignal;
  onProgress?: ProgressFn;
  /** Where overflow goes: 'vector-store' (marks `[vector store]`, tells the model to use file_search) or 'omitted' for providers without one (marks `[not sent]`). Default 'vector-store'. */
  overflow?: OverflowMode;
  /** Gathering caps; defaults from DEFAULTS (MAX_FILE_BYTES, MAX_TOTAL_BYTES, MAX_FILES). */
  limits?: Partial<GatherLimits>;
  /** gitignore-syntax patterns: gather only files these match (see `GatherOptions.include`). Default []. */
  include?: readonly string[];
  /** gitignore-syntax patterns: files and directories these match are skipped as `excluded-by-pattern`. Default []. */
  exclude?: readonly string[];
  /** Budget overrides; defaults DEFAULTS.CONTEXT_BUDGET_FRACTION (0.85) and CONTEXT_RESERVE_TOKENS (8,000). */
  budget?: { fraction?: number; reserveTokens?: number };
}

export interface PreparedContextStats {
  /** Files gathered (inline + overflow + already sent). */
  files: number;
  /** Tokens of the inline files, delimiters included. */
  inlineTokens: number;
  overflowFiles: number;
  /** Entries skipped while gathering (including those not itemised). */
  skipped: number;
  /** Files no `include` pattern matched (counted, not listed). */
  notIncluded: number;
  elapsedMs: number;
  budgetTokens: number;
  /** Tokens by which priority files alone exceed the budget (0 when they fit). */
  overBudgetTokens: number;
  instructionsTokens: number;
  treeTokens: number;
  treeCondensed: boolean;
  /** Tokens of `promptText` (tree, delimiters and inline content), by the model's tokenizer family. */
  promptTokens: number;
  /** Tokens of files sent earlier in the session (still in the conversation, so subtracted from the budget). */
  alreadySentTokens: number;
}

export interface PreparedContext {
  /** Context text for the model (file tree, inline contents, file_search instruction). '' when no paths were given. */
  promptText: string;
  /** Plain-text report for the user: counts, tokens, skipped files with reasons. */
  contextReport: string;
  /** Files sent inline now (with `tokens` and `sha256`); record them with `recordSent` once the provider accepted the request. */
  inline: TokenizedFile[];
  /** Files that did not fit (with `text`, `tokens` and `sha256`), for the vector store. */
  overflow: TokenizedFile[];
  skipped: SkippedEntry[];
  /** Files this session already received unchanged (with the tokens recorded then); listed in the tree, not resent. */
  alreadySent: TokenizedFile[];
  /** Files sent with credential-shaped strings replaced by `[redacted]`. */
  redactions: Array<{ path: string; count: number; labels: string[] }>;
  stats: PreparedContextStats;
}

/**
 * Prepares the context of one chat call.
 * @throws SbError SB_ERR_PATH_OUTSIDE_ROOTS, SB_ERR_PATH_NOT_FOUND, SB_ERR_INVALID_ARGUMENT,
 *   SB_ERR_CANCELLED / SB_ERR_DEADLINE_EXCEEDED.
 * @example
 *   const ctx = await prepareContext({ db, sessionId, model: { contextWindow: 200_000, tokenizerFamily: 'o200k' },
 *     paths: ['src'], roots: ['/repo'], instructions: question, signal });
 */
export async function prepareContext(opts: PrepareContextOptions): Promise<PreparedContext> {
  const started = performance.now();
  const { signal } = opts;
  throwIfAborted(signal);
  const family = opts.model?.tokenizerFamily;
  const contextWindow = opts.model?.contextWindow;
  if (family !== 'o200k' && family !== 'estimate') throw invalid('model.tokenizerFamily', `'o200k' or 'estimate' (got ${JSON.stringify(family)})`);
  if (typeof contextWindow !== 'number' || !Number.isFinite(contextWindow) || contextWindow <= 0) throw invalid('model.contextWindow', `a positive number of tokens (got ${String(contextWindow)})`);
  if (opts.sessionId !== undefined && !opts.db) throw invalid('db', 'a state database when sessionId is given');
  const overflowMode = opts.overflow ?? 'vector-store';
  if (overflowMode !== 'vector-store' && overflowMode !== 'omitted') throw invalid('overflow', `'vector-store' or 'omitted' (got ${JSON.stringify(overflowMode)})`);
  const fraction = opts.budget?.fraction ?? DEFAULTS.CONTEXT_BUDGET_FRACTION;
  const reserveTokens = opts.budget?.reserveTokens ?? DEFAULTS.CONTEXT_RESERVE_TOKENS;
  const onProgress = opts.onProgress;

  const gathered = await gatherFiles({
    paths: opts.paths, priorityPaths: opts.priorityPaths ?? [], roots: opts.roots, signal, limits: opts.limits, onProgress,
    include: opts.include, exclude: opts.exclude,
  });
  const files = gathered.files;
  // A cancel that landed while the last read batch finished must not go on to counting.
  throwIfAborted(signal);

  const { toSend, alreadySent, alreadySentTokens } = opts.sessionId !== undefined
    ? await filterUnchanged(opts.db!, opts.sessionId, files, signal)
    : { toSend: [...files], alreadySent: [] as TokenizedFile[], alreadySentTokens: 0 };

  // Count and hash in one pass: hashes feed sent-file tracking and the vector store's dedup
  // key (KI-14), and computing them here keeps sha256 of megabytes off the event loop.
  onProgress?.(0, toSend.length, `Counting tokens of ${toSend.length} files`);
  const texts = toSend.map(fileContent);
  const progress = (done: number, total: number) => onProgress?.(done, total, `Counting tokens: ${done}/${total} files`);
  let tokens: number[];
  if (family === 'o200k') {
    const r = await analyzeTexts(texts, { count: true, hash: true }, signal, progress);
    tokens = r.tokens!;
    toSend.forEach((f, i) => { f.sha256 = r.sha256![i]!; });
  } else {
    tokens = await countTokens(texts, 'estimate', signal);
    const hashes = await hashContent(texts, signal);
    toSend.forEach((f, i) => { f.sha256 = hashes[i]!; });
  }
  const tokenized: TokenizedFile[] = toSend.map((f, i) => Object.assign(f, { tokens: tokens[i]! }));
  const layout = await layoutPrompt({
    files: tokenized, alreadySent: alreadySent.map((f) => f.relPath), alreadySentTokens,
    instructions: opts.instructions ?? '', contextWindow, fraction, reserveTokens, family, overflowMode, signal,
  });
  const { split: s, inline, overflow, tree, treeCondensed, treeTokens, instructionsTokens } = layout;
  const promptText = files.length === 0
    ? ''
    : buildPromptText({ tree, treeCondensed, totalFiles: layout.totalEntries, marks: layout.marks, inline, overflowCount: overflow.length, overflowMode });
  const elapsedMs = Math.round(performance.now() - started);
  const contextReport = buildContextReport({
    totalFiles: files.length, inlineFiles: inline.length, overflowFiles: overflow.length, overflowMode,
    alreadySentFiles: alreadySent.length, alreadySentTokens, inlineTokens: s.usedTokens, budgetTokens: s.budgetTokens, contextWindow,
    tokenizerFamily: family, overBudgetTokens: s.overBudgetTokens, treeCondensed, skipped: gathered.skipped,
    skippedTotal: gathered.stats.skipped, gitignored: gathered.stats.gitignored, notIncluded: gathered.stats.notIncluded, elapsedMs,
  }) + secretsReport(gathered.redactions, gathered.skipped);
  return {
    promptText, contextReport, inline, overflow, skipped: gathered.skipped, alreadySent, redactions: gathered.redactions,
    stats: {
      files: files.length, inlineTokens: s.usedTokens, overflowFiles: overflow.length, skipped: gathered.stats.skipped, notIncluded: gathered.stats.notIncluded, elapsedMs,
      budgetTokens: s.budgetTokens, overBudgetTokens: s.overBudgetTokens, instructionsTokens, treeTokens, treeCondensed,
      promptTokens: treeTokens + PROMPT_FRAME_TOKENS + s.usedTokens, alreadySentTokens,
    },
  };
}

/**
 * Counts the tokens of gathered files without decoding them on the event loop (their bytes
 * go to the worker pool as they are). One count per file, in order.
 */
export async function countFileTokens(files: readonly GatheredFile[], family: TokenizerFamily, signal: AbortSignal): Promise<number[]> {
  return countTokens(files.map(fileContent), family, signal);
}

/** Figures for server_diagnostics (KI-20): the tokenizer pool and the gather I/O limiter. */
export function contextDiagnostics(): { workers: { text: WorkerPoolStats; reader: WorkerPoolStats }; gatherIo: LimiterStats } {
  return { workers: contextWorkerStats(), gatherIo: gatherIoLimiter.stats() };
}

function invalid(option: string, accepted: string): SbError {
  return new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to prepare context: ${option} must be ${accepted}.`, { details: { option } });
}
