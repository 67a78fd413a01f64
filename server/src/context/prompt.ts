/**
 * Prompt assembly: the context text sent to the model (file tree, inline contents, and a
 * file_search instruction when files overflow), and the plain-text context report appended
 * to the tool's answer so the user sees what was sent. The question and system prompt are
 * not part of it; the provider layer sends those as their own messages.
 */
import type { FileMark } from './file-tree.ts';
import type { SkippedEntry, SkipReason } from './types.ts';

/** What happens to files that do not fit: attached to a vector store, or not sent at all. */
export type OverflowMode = 'vector-store' | 'omitted';

/** Skipped entries listed by path in the report; the rest are summarised by reason. */
const REPORT_SKIPPED_LINES_MAX = 25;

const MARK_LEGEND: Record<FileMark, string> = {
  'inline': 'the full content is below in this message',
  'vector store': 'not included here; it is attached to a vector store, search it with the file_search tool',
  'already sent': 'its content was sent earlier in this conversation and has not changed since',
  'not sent': 'did not fit the context window and was not sent; ask for it by path if you need it',
};

/** Line that opens a file's content. */
export function fileHeader(relPath: string): string {
  return `----- BEGIN FILE ${relPath} -----\n`;
}

/** Line that closes a file's content; it repeats the path so a reader never loses track of where a long file ends. */
export function fileFooter(relPath: string): string {
  return `----- END FILE ${relPath} -----\n\n`;
}

/** Conservative token cost of a file's delimiters: paths tokenise at 2+ bytes per token. */
export function delimiterTokens(relPath: string): number {
  return Math.ceil(Buffer.byteLength(fileHeader(relPath) + fileFooter(relPath) + '\n', 'utf8') / 2);
}

export interface PromptParts {
  /** Rendered file tree (full or condensed). */
  tree: string;
  /** Whether `tree` is the condensed per-directory form. */
  treeCondensed: boolean;
  /** Files in scope, for the header count. */
  totalFiles: number;
  /** Marks that occur in the tree, for the legend. */
  marks: ReadonlySet<FileMark>;
  /** Inline files with their text, in the order they should appear. */
  inline: ReadonlyArray<{ relPath: string; text?: string }>;
  /** Files that overflowed. */
  overflowCount: number;
  overflowMode: OverflowMode;
}

/** Builds the context text: header with legend, tree, inline contents, overflow instruction. */
export function buildPromptText(p: PromptParts): string {
  const out: string[] = [];
  out.push('# Project files\n\n');
  out.push(`${p.totalFiles} file${p.totalFiles === 1 ? ' is' : 's are'} in scope for this question. The tree below lists ${p.treeCondensed ? 'them per directory' : 'every one of them'}; the mark after each ${p.treeCondensed ? 'count' : 'file'} says where its content is:\n`);
  for (const mark of ['inline', 'vector store', 'already sent', 'not sent'] as const) {
    if (p.marks.has(mark)) out.push(`- [${mark}]: ${MARK_LEGEND[mark]}.\n`);
  }
  out.push('\n## File tree\n\n');
  out.push(p.tree, '\n');
  if (p.inline.length > 0) {
    out.push('\n## File contents\n\n');
    for (const f of p.inline) {
      const text = f.text ?? '';
      out.push(fileHeader(f.relPath), text, text.endsWith('\n') || text === '' ? '' : '\n', fileFooter(f.relPath));
    }
  }
  if (p.overflowCount > 0 && p.overflowMode === 'vector-store') {
    out.push('\n## Files in the vector store\n\n');
    out.push(`${p.overflowCount} file${p.overflowCount === 1 ? ' is' : 's are'} marked [vector store]: ${p.overflowCount === 1 ? 'it did' : 'they did'} not fit inline and ${p.overflowCount === 1 ? 'is' : 'are'} attached to a vector store. Use the file_search tool to search ${p.overflowCount === 1 ? 'it' : 'them'} whenever the question touches ${p.overflowCount === 1 ? 'it' : 'them'}, and do not guess at content you have not retrieved.\n`);
  } else if (p.overflowCount > 0) {
    out.push(`\n${p.overflowCount} file${p.overflowCount === 1 ? ' is' : 's are'} marked [not sent]: ${p.overflowCount === 1 ? 'it' : 'they'} did not fit the context window. Say so if the answer depends on ${p.overflowCount === 1 ? 'it' : 'them'}.\n`);
  }
  return out.join('');
}

export interface ReportParts {
  totalFiles: number;
  inlineFiles: number;
  overflowFiles: number;
  overflowMode: OverflowMode;
  alreadySentFiles: number;
  alreadySentTokens: number;
  inlineTokens: number;
  budgetTokens: number;
  contextWindow: number;
  tokenizerFamily: 'o200k' | 'estimate';
  overBudgetTokens: number;
  treeCondensed: boolean;
  skipped: readonly SkippedEntry[];
  /** Skipped entries in total, including those not listed. */
  skippedTotal: number;
  gitignored: number;
  /** Files no `include` pattern matched. Default 0. */
  notIncluded?: number;
  elapsedMs: number;
}

/** The plain-text context report appended to a tool's answer. */
export function buildContextReport(r: ReportParts): string {
  const n = thousands;
  const lines: string[] = [];
  const parts = [`${n(r.inlineFiles)} inline`];
  if (r.overflowFiles > 0) parts.push(r.overflowMode === 'vector-store' ? `${n(r.overflowFiles)} in the vector store` : `${n(r.overflowFiles)} not sent (did not fit)`);
  if (r.alreadySentFiles > 0) parts.push(`${n(r.alreadySentFiles)} already sent earlier and unchanged (${n(r.alreadySentTokens)} tokens still in the conversation)`);
  lines.push(`Context: ${n(r.totalFiles)} file${r.totalFiles === 1 ? '' : 's'} in scope: ${parts.join(', ')}.`);
  lines.push(`Tokens: ${n(r.inlineTokens)} inline of a ${n(r.budgetTokens)}-token budget (context window ${n(r.contextWindow)}; ${r.tokenizerFamily === 'o200k' ? 'exact o200k counts' : 'estimated counts'}).`);
  if (r.overBudgetTokens > 0) lines.push(`Priority files exceed the budget by ${n(r.overBudgetTokens)} tokens; they were sent in full anyway. Narrow priority_context if the model rejects the request.`);
  if (r.treeCondensed) lines.push('The file tree was condensed to per-directory counts because the full tree would have crowded out file content.');
  if (r.gitignored > 0) lines.push(`${n(r.gitignored)} entr${r.gitignored === 1 ? 'y' : 'ies'} left out by .gitignore.`);
  if (r.notIncluded) lines.push(`${n(r.notIncluded)} file${r.notIncluded === 1 ? '' : 's'} left out: not matched by include.`);
  if (r.skippedTotal > 0) {
    const byReason = new Map<SkipReason, number>();
    for (const s of r.skipped) byReason.set(s.reason, (byReason.get(s.reason) ?? 0) + 1);
    const summary = [...byReason].sort((a, b) => b[1] - a[1]).map(([reason, c]) => `${n(c)} ${reason}`).join(', ');
    lines.push(`Skipped ${n(r.skippedTotal)}: ${summary}${r.skippedTotal > r.skipped.length ? `, ${n(r.skippedTotal - r.skipped.length)} more not itemised` : ''}.`);
    for (const s of r.skipped.slice(0, REPORT_SKIPPED_LINES_MAX)) lines.push(`  ${s.path} (${s.reason})`);
    if (r.skipped.length > REPORT_SKIPPED_LINES_MAX) lines.push(`  … and ${n(r.skipped.length - REPORT_SKIPPED_LINES_MAX)} more`);
  }
  lines.push(`Prepared in ${n(r.elapsedMs)} ms.`);
  return lines.join('\n');
}

/** 1234567 → '1,234,567'. Not toLocaleString: its first call loads ICU data for about 10 ms on the event loop. */
function thousands(x: number): string {
  return String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
