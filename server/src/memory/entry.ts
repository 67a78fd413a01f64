/**
 * One memory entry: what was asked, an excerpt of the answer, which files were in
 * context, and where the code stood (date, branch, HEAD). Everything is cut to a bound
 * when it is enqueued, so a 5 MB conversation costs a slice, not a copy (KI-11).
 */
import type { GitInfo } from './git-info.ts';

export interface MemoryItem {
  sessionId: string;
  question: string;
  answerExcerpt: string;
  files: string[];
  model: string;
}

/** A bounded copy of an item, as the queue keeps it. */
export interface BoundedItem extends MemoryItem {
  enqueuedAt: number;
  filesOmitted: number;
}

const MAX_FILES = 100;
const MAX_PATH_CHARS = 200;
const MAX_ID_CHARS = 200;

function cut(text: string, max: number): string {
  if (typeof text !== 'string') return '';
  return text.length <= max ? text : `${text.slice(0, max)} …[truncated]`;
}

/** Copies at most `maxChars` of text (a quarter for the question, the rest for the answer). */
export function boundItem(item: MemoryItem, maxChars: number, now = Date.now()): BoundedItem {
  const files = Array.isArray(item.files) ? item.files : [];
  return {
    sessionId: cut(String(item.sessionId ?? ''), MAX_ID_CHARS),
    model: cut(String(item.model ?? ''), MAX_ID_CHARS),
    question: cut(item.question, Math.floor(maxChars / 4)),
    answerExcerpt: cut(item.answerExcerpt, maxChars - Math.floor(maxChars / 4)),
    files: files.slice(0, MAX_FILES).map((f) => cut(String(f), MAX_PATH_CHARS)),
    filesOmitted: Math.max(0, files.length - MAX_FILES),
    enqueuedAt: now,
  };
}

/** Attributes stored with the entry in the vector store (strings ≤ 512 chars). */
export function entryAttributes(item: BoundedItem, git: GitInfo): Record<string, string> {
  return {
    kind: 'memory',
    recorded_at: new Date(item.enqueuedAt).toISOString(),
    branch: (git.branch ?? 'unknown').slice(0, 512),
    head: (git.head ?? 'unknown').slice(0, 512),
    session: item.sessionId.slice(0, 512),
    model: item.model.slice(0, 512),
  };
}

export function formatEntry(item: BoundedItem, git: GitInfo): string {
  const when = new Date(item.enqueuedAt).toISOString();
  const files = item.files.length
    ? item.files.map((f) => `- ${f}`).join('\n') + (item.filesOmitted ? `\n- … and ${item.filesOmitted} more` : '')
    : '- (none)';
  return [
    `# Earlier conversation (recorded ${when})`,
    '',
    `Branch: ${git.branch ?? 'unknown'}  HEAD: ${git.head ?? 'unknown'}  Model: ${item.model}  Session: ${item.sessionId}`,
    'This may be outdated: the code may have changed since it was recorded.',
    '',
    '## Question',
    item.question,
    '',
    '## Answer (excerpt)',
    item.answerExcerpt,
    '',
    '## Files in context',
    files,
    '',
  ].join('\n');
}
