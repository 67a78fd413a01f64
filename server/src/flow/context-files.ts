/**
 * The named context report: which files of a call went (or would go) where. Every class is
 * named in full in `structuredContent`; the text names up to CONTEXT_REPORT_NAMES_MAX (20)
 * per class and counts the rest, so a 50,000-file call does not bury the answer.
 */
import { DEFAULTS } from '../config/defaults.ts';
import type { SkippedEntry } from '../context/index.ts';

/** A file that was not sent, with why. */
export interface LeftOutFile {
  path: string;
  /**
   * A gathering skip reason (`secret`, `binary`, `excluded-by-pattern`, …), `did-not-fit`
   * (over the budget, and the provider has no vector store), or
   * `not-attached: <reason>` (its vector-store upload failed).
   */
  reason: string;
}

export interface ContextFiles {
  /** Sent in full in the prompt. */
  inline: string[];
  /** Sent earlier in this session and unchanged, so listed in the tree but not resent. */
  already_sent: string[];
  /** Attached to the session's vector store (searched with file_search). */
  vector_store: string[];
  left_out: LeftOutFile[];
  /** Skipped entries counted but not listed (past CONTEXT_SKIPPED_LIST_MAX, 1,000). */
  left_out_not_listed: number;
}

export interface ContextFilesInput {
  inline: ReadonlyArray<{ relPath: string }>;
  alreadySent: ReadonlyArray<{ relPath: string }>;
  /** Files that overflowed the budget. */
  overflow: ReadonlyArray<{ relPath: string }>;
  /** Whether the overflow goes (went) to a vector store; otherwise it is left out as `did-not-fit`. */
  toVectorStore: boolean;
  /** Overflow files whose upload failed, with the reason. */
  notAttached?: ReadonlyArray<{ path: string; reason: string }>;
  skipped: readonly SkippedEntry[];
  /** Skipped entries in total, listed or not. */
  skippedTotal: number;
}

/** Sorts a call's files into the named classes. */
export function contextFiles(c: ContextFilesInput): ContextFiles {
  const failed = new Map((c.notAttached ?? []).map((f) => [f.path, f.reason]));
  const vectorStore: string[] = [];
  const leftOut: LeftOutFile[] = [];
  for (const f of c.overflow) {
    const why = failed.get(f.relPath);
    if (!c.toVectorStore) leftOut.push({ path: f.relPath, reason: 'did-not-fit' });
    else if (why !== undefined) leftOut.push({ path: f.relPath, reason: `not-attached: ${why}` });
    else vectorStore.push(f.relPath);
  }
  for (const s of c.skipped) leftOut.push({ path: s.path, reason: s.reason });
  return {
    inline: c.inline.map((f) => f.relPath),
    already_sent: c.alreadySent.map((f) => f.relPath),
    vector_store: vectorStore,
    left_out: leftOut,
    left_out_not_listed: Math.max(0, c.skippedTotal - c.skipped.length),
  };
}

/**
 * Text lines naming the files of each class, up to `max` per class. Skipped entries are left
 * out of the "Left out" line when `skippedListedAbove`, because the context report already
 * names them with their reasons.
 */
export function describeContextFiles(f: ContextFiles, opts: { max?: number; skippedListedAbove?: boolean } = {}): string[] {
  const max = opts.max ?? DEFAULTS.CONTEXT_REPORT_NAMES_MAX;
  const lines: string[] = [];
  const name = (label: string, items: readonly string[], extraUnlisted = 0) => {
    const total = items.length + extraUnlisted;
    if (total === 0) return;
    const shown = items.slice(0, max).join(', ');
    const rest = total - Math.min(items.length, max);
    lines.push(`${label} (${total}): ${shown}${rest > 0 ? `${shown ? ', ' : ''}… and ${rest} more` : ''}`);
  };
  name('Inline', f.inline);
  name('Already sent', f.already_sent);
  name('Vector store', f.vector_store);
  const leftOut = opts.skippedListedAbove ? f.left_out.filter((x) => x.reason === 'did-not-fit' || x.reason.startsWith('not-attached')) : f.left_out;
  name(opts.skippedListedAbove ? 'Left out (did not fit, or not attached)' : 'Left out', leftOut.map((x) => `${x.path} (${x.reason})`),
    opts.skippedListedAbove ? 0 : f.left_out_not_listed);
  return lines;
}
