import type { FileRecord } from './state.ts';
import { FAKE_DEFAULTS } from './defaults.ts';

/**
 * Deterministic keyword matching standing in for embedding search: a file scores the
 * fraction of distinct query terms it contains, ties broken by file name.
 */

export interface SearchHit {
  file: FileRecord;
  score: number;
  excerpt: string;
}

export function queryTerms(query: string | readonly string[]): string[] {
  const text = Array.isArray(query) ? query.join(' ') : String(query);
  return [...new Set(text.toLowerCase().split(/[^a-z0-9_]+/).filter((t) => t.length >= 2))];
}

export function searchFiles(files: Iterable<FileRecord>, query: string | readonly string[], maxResults: number): SearchHit[] {
  const terms = queryTerms(query);
  if (terms.length === 0) return [];
  const hits: SearchHit[] = [];
  for (const file of files) {
    const haystack = file.content.toLowerCase();
    const found = terms.filter((t) => haystack.includes(t));
    if (found.length === 0) continue;
    const score = Math.round((found.length / terms.length) * 10_000) / 10_000;
    hits.push({ file, score, excerpt: excerptAround(file.content, haystack.indexOf(found[0]!)) });
  }
  hits.sort((a, b) => b.score - a.score || a.file.filename.localeCompare(b.file.filename) || a.file.id.localeCompare(b.file.id));
  return hits.slice(0, maxResults);
}

function excerptAround(content: string, index: number): string {
  const size = FAKE_DEFAULTS.SEARCH_EXCERPT_CHARS;
  const start = Math.max(0, Math.min(index - Math.floor(size / 4), content.length - size));
  return content.slice(start, start + size);
}
