/**
 * The file tree shown to the model: every file in scope with a mark saying where its content
 * is. When the full tree would crowd out file content, it is condensed to one line per
 * directory with counts per mark.
 *
 * Both renderers run on the event loop over up to MAX_FILES entries, so they avoid per-entry
 * comparators and splits: paths are sorted natively and a directory is split only when it
 * changes (20,000 entries render in a few milliseconds).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DEFAULTS } from '../config/defaults.ts';
import { throwIfAborted } from '../errors.ts';

/** Where a file's content is, as the tree shows it. */
export type FileMark = 'inline' | 'vector store' | 'already sent' | 'not sent';

const MARK_ORDER: readonly FileMark[] = ['inline', 'already sent', 'vector store', 'not sent'];

export interface TreeEntry {
  relPath: string;
  mark: FileMark;
}

/**
 * Indented tree, one line per directory and file: `  name [mark]`.
 * Entries need not be sorted; paths must be unique.
 */
export function renderFullTree(entries: readonly TreeEntry[]): string {
  return [...fullTreeLines(entries)].join('\n');
}

/** `renderFullTree`, yielding to the event loop every TREE_LINES_PER_TURN lines (for large trees). */
export async function renderFullTreeAsync(entries: readonly TreeEntry[], signal: AbortSignal): Promise<string> {
  const lines: string[] = [];
  for (const line of fullTreeLines(entries)) {
    lines.push(line);
    if (lines.length % TREE_LINES_PER_TURN === 0) {
      await yieldToLoop();
      throwIfAborted(signal);
    }
  }
  return lines.join('\n');
}

/** Lines rendered between two turns of the event loop (a few milliseconds of work). */
const TREE_LINES_PER_TURN = 4_096;

function* fullTreeLines(entries: readonly TreeEntry[]): Generator<string> {
  const markOf = new Map<string, FileMark>();
  for (const e of entries) markOf.set(e.relPath, e.mark);
  const paths = [...markOf.keys()].sort();
  let prevDir = '';
  let prevParts: string[] = [];
  let indent = '';
  for (const path of paths) {
    const cut = path.lastIndexOf('/');
    const dir = cut === -1 ? '' : path.slice(0, cut);
    if (dir !== prevDir) {
      const parts = dir === '' ? [] : dir.split('/');
      let common = 0;
      while (common < parts.length && common < prevParts.length && parts[common] === prevParts[common]) common++;
      for (let d = common; d < parts.length; d++) yield `${'  '.repeat(d)}${parts[d]}/`;
      prevDir = dir;
      prevParts = parts;
      indent = '  '.repeat(parts.length);
    }
    yield `${indent}${path.slice(cut + 1)} [${markOf.get(path)}]`;
  }
}

/**
 * One line per directory (truncated to the deepest level that keeps the line count within
 * `maxLines`, default DEFAULTS.CONTEXT_TREE_MAX_DIR_LINES = 400), with the number of files
 * under it per mark: `src/context/ (12 files: 3 inline, 9 vector store)`.
 */
export function renderCondensedTree(entries: readonly TreeEntry[], maxLines: number = DEFAULTS.CONTEXT_TREE_MAX_DIR_LINES): string {
  // Count per directory once; deeper levels are then folded from these few rows, not from every file.
  const perDir = new Map<string, Map<FileMark, number>>();
  for (const e of entries) {
    const cut = e.relPath.lastIndexOf('/');
    const dir = cut === -1 ? '' : e.relPath.slice(0, cut);
    let counts = perDir.get(dir);
    if (!counts) perDir.set(dir, (counts = new Map()));
    counts.set(e.mark, (counts.get(e.mark) ?? 0) + 1);
  }
  const dirs = [...perDir].map(([dir, counts]) => ({ parts: dir === '' ? [] : dir.split('/'), counts }));
  const maxDepth = dirs.reduce((m, d) => Math.max(m, d.parts.length), 0);
  let groups = foldAt(dirs, 1);
  for (let depth = 2; depth <= maxDepth; depth++) {
    const deeper = foldAt(dirs, depth);
    if (deeper.size > maxLines) break;
    groups = deeper;
  }
  const keys = [...groups.keys()].sort();
  const lines: string[] = [];
  for (const key of keys.slice(0, maxLines)) {
    let total = 0;
    const parts: string[] = [];
    const counts = groups.get(key)!;
    for (const mark of MARK_ORDER) {
      const n = counts.get(mark);
      if (!n) continue;
      total += n;
      parts.push(`${n} ${mark}`);
    }
    lines.push(`${key === '' ? './' : key + '/'} (${total} file${total === 1 ? '' : 's'}: ${parts.join(', ')})`);
  }
  if (keys.length > maxLines) lines.push(`… and ${keys.length - maxLines} more directories`);
  return lines.join('\n');
}

function foldAt(dirs: ReadonlyArray<{ parts: string[]; counts: Map<FileMark, number> }>, depth: number): Map<string, Map<FileMark, number>> {
  const groups = new Map<string, Map<FileMark, number>>();
  for (const d of dirs) {
    const key = d.parts.length <= depth ? d.parts.join('/') : d.parts.slice(0, depth).join('/');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = new Map()));
    for (const [mark, n] of d.counts) g.set(mark, (g.get(mark) ?? 0) + n);
  }
  return groups;
}
