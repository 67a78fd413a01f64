import { createHash } from 'node:crypto';

/**
 * Deterministic model answers. The text carries checkable facts about the request so
 * tests can assert that context reached the model: the model name, whether a
 * previous_response_id was given, hashes and sizes of instructions and input, the
 * `SB_MARK_…` markers found in the prompt or in attached files, and the files that
 * file_search matched.
 */

export const MARKER_PATTERN = /\bSB_MARK_[A-Za-z0-9_]+/g;

export interface AnswerFacts {
  provider: string;
  model: string;
  previousResponseId: string | null;
  instructions: string;
  input: string;
  /** Text of files reachable through file_search, scanned for markers. */
  attachedText?: string;
  fileSearchHits?: readonly string[];
}

export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

export function markersIn(...texts: string[]): string[] {
  const found = new Set<string>();
  for (const text of texts) for (const m of text.matchAll(MARKER_PATTERN)) found.add(m[0]);
  return [...found].sort();
}

export function buildAnswer(facts: AnswerFacts): string {
  const markers = markersIn(facts.instructions, facts.input, facts.attachedText ?? '');
  const excerpt = facts.input.replace(/\s+/g, ' ').trim().slice(0, 80);
  return [
    `Fake ${facts.provider} answer from ${facts.model}.`,
    `previous_response_id=${facts.previousResponseId ?? 'none'}.`,
    `instructions_sha=${shortHash(facts.instructions)} instructions_chars=${facts.instructions.length}.`,
    `input_sha=${shortHash(facts.input)} input_chars=${facts.input.length}.`,
    `markers=[${markers.join(',')}].`,
    `file_search=[${(facts.fileSearchHits ?? []).join(',')}].`,
    `excerpt="${excerpt}"`,
  ].join(' ');
}

/** Roughly four characters per token, as the usual rule of thumb. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Collects the text of a Responses `input` (string or item list) or chat `messages`. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(textOf).filter(Boolean).join('\n');
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.text === 'string') return v.text;
    if (v.type === 'function_call_output') return typeof v.output === 'string' ? v.output : JSON.stringify(v.output ?? '');
    if ('content' in v) return textOf(v.content);
  }
  return '';
}

/** Splits an answer into stream deltas of a few words, keeping the whitespace. */
export function splitDeltas(text: string, wordsPerDelta: number): string[] {
  const words = text.match(/\S+\s*/g) ?? [text];
  const out: string[] = [];
  for (let i = 0; i < words.length; i += wordsPerDelta) out.push(words.slice(i, i + wordsPerDelta).join(''));
  return out;
}
