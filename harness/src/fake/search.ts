import type { FileRecord } from './state.ts';
import { FAKE_DEFAULTS } from './defaults.ts';

/**
 * Deterministic keyword matching standing in for embedding search: a file scores the
 * fraction of distinct query terms it contains, ties broken by file name.
 *
 * Each file's content is tokenised once into a term index (files are immutable once
 * uploaded), so a search costs a few set lookups per file instead of a scan of every
 * byte: the fake's search time must not grow with the stored text, or a benchmark of
 * a growing store measures the fake instead of the server.
 */

interface FileIndex {
  /** Distinct terms of the content, lower-cased. */
  terms: Set<string>;
  source: string;
  /** Lower-cased content, for the excerpt's position. */
  lower: string;
}

const indexes = new WeakMap<FileRecord, FileIndex>();

function indexOf(file: FileRecord): FileIndex {
  let idx = indexes.get(file);
  if (!idx || idx.source !== file.content) {
    const lower = file.content.toLowerCase();
    idx = { source: file.content, lower, terms: new Set(lower.split(TERM_SPLIT).filter((t) => t.length >= 2)) };
    indexes.set(file, idx);
  }
  return idx;
}

const TERM_SPLIT = /[^a-z0-9_]+/;

export interface SearchHit {
  file: FileRecord;
  score: number;
  excerpt: string;
}

export function queryTerms(query: string | readonly string[]): string[] {
  const text = Array.isArray(query) ? query.join(' ') : String(query);
  return [...new Set(text.toLowerCase().split(TERM_SPLIT).filter((t) => t.length >= 2))];
}

export function searchFiles(files: Iterable<FileRecord>, query: string | readonly string[], maxResults: number): SearchHit[] {
  const terms = queryTerms(query);
  if (terms.length === 0) return [];
  const hits: SearchHit[] = [];
  const hitTerm = new Map<SearchHit, string>();
  for (const file of files) {
    const idx = indexOf(file);
    let found = 0;
    let first: string | undefined;
    for (const t of terms) {
      if (!idx.terms.has(t)) continue;
      found++;
      first ??= t;
    }
    if (found === 0) continue;
    const score = Math.round((found / terms.length) * 10_000) / 10_000;
    hits.push({ file, score, excerpt: '' });
    hitTerm.set(hits[hits.length - 1]!, first!);
  }
  hits.sort((a, b) => b.score - a.score || a.file.filename.localeCompare(b.file.filename) || a.file.id.localeCompare(b.file.id));
  const top = hits.slice(0, maxResults);
  // Excerpts only for the hits returned.
  for (const h of top) h.excerpt = excerptAround(h.file.content, indexOf(h.file).lower.indexOf(hitTerm.get(h)!));
  return top;
}

function excerptAround(content: string, index: number): string {
  const size = FAKE_DEFAULTS.SEARCH_EXCERPT_CHARS;
  const start = Math.max(0, Math.min(index - Math.floor(size / 4), content.length - size));
  return content.slice(start, start + size);
}
