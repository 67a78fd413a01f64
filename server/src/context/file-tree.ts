/**
 * The file tree shown to the model: every file in scope with a mark saying where its content
 * is. When the full tree would crowd out file content, it is condensed to one line per
 * directory with counts per mark.
 */
import { DEFAULTS } from '../config/defaults.ts';

/** Where a file's content is, as the tree shows it. */
export type FileMark = 'inline' | 'vector store' | 'already sent' | 'not sent';

export interface TreeEntry {
  relPath: string;
  mark: FileMark;
}

/**
 * Indented tree, one line per directory and file: `  name [mark]`.
 * Entries need not be sorted.
 */
export function renderFullTree(entries: readonly TreeEntry[]): string {
  const sorted = [...entries].sort(byPath);
  const lines: string[] = [];
  let prev: string[] = [];
  for (const e of sorted) {
    const parts = e.relPath.split('/');
    const dirs = parts.slice(0, -1);
    let common = 0;
    while (common < dirs.length && common < prev.length && dirs[common] === prev[common]) common++;
    for (let d = common; d < dirs.length; d++) lines.push(`${'  '.repeat(d)}${dirs[d]}/`);
    lines.push(`${'  '.repeat(dirs.length)}${parts[parts.length - 1]} [${e.mark}]`);
    prev = dirs;
  }
  return lines.join('\n');
}

/**
 * One line per directory (truncated to the deepest level that keeps the line count within
 * `maxLines`, default DEFAULTS.CONTEXT_TREE_MAX_DIR_LINES = 400), with the number of files
 * under it per mark: `src/context/ (12 files: 3 inline, 9 vector store)`.
 */
export function renderCondensedTree(entries: readonly TreeEntry[], maxLines: number = DEFAULTS.CONTEXT_TREE_MAX_DIR_LINES): string {
  const dirsOf = entries.map((e) => e.relPath.split('/').slice(0, -1));
  const maxDepth = dirsOf.reduce((m, d) => Math.max(m, d.length), 0);
  let groups = groupAt(entries, dirsOf, 1);
  for (let depth = 2; depth <= maxDepth; depth++) {
    const deeper = groupAt(entries, dirsOf, depth);
    if (deeper.size > maxLines) break;
    groups = deeper;
  }
  const keys = [...groups.keys()].sort();
  const lines: string[] = [];
  for (const key of keys.slice(0, maxLines)) {
    const counts = groups.get(key)!;
    let total = 0;
    const parts: string[] = [];
    for (const [mark, n] of counts) {
      total += n;
      parts.push(`${n} ${mark}`);
    }
    lines.push(`${key === '' ? './' : key + '/'} (${total} file${total === 1 ? '' : 's'}: ${parts.join(', ')})`);
  }
  if (keys.length > maxLines) lines.push(`… and ${keys.length - maxLines} more directories`);
  return lines.join('\n');
}

function groupAt(entries: readonly TreeEntry[], dirsOf: string[][], depth: number): Map<string, Map<FileMark, number>> {
  const groups = new Map<string, Map<FileMark, number>>();
  for (let i = 0; i < entries.length; i++) {
    const key = dirsOf[i]!.slice(0, depth).join('/');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = new Map()));
    const mark = entries[i]!.mark;
    g.set(mark, (g.get(mark) ?? 0) + 1);
  }
  return groups;
}

function byPath(a: TreeEntry, b: TreeEntry): number {
  return a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0;
}
