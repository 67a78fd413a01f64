/**
 * Binary detection by content, not by extension: a `.txt` full of NUL bytes is binary, and a
 * `.bin` (or extension-less) file holding UTF-8 text is text and is kept. Models read text;
 * the extension only hints at what a file usually holds.
 *
 * Rule, on the first SNIFF_BYTES (8 KiB) of the file:
 *   - any NUL byte → binary (UTF-16 text counts as binary too; it is rare in source trees);
 *   - otherwise valid UTF-8 → text;
 *   - otherwise more than INVALID_UTF8_MAX_RATIO of the decoded characters are replacement
 *     characters → binary; below that the file is text in a legacy encoding (Latin-1 and
 *     the like) and is kept, with the few undecodable bytes shown as U+FFFD.
 * A NUL anywhere later in the file also marks it binary (a cheap native scan): formats such
 * as PDF start with a text header and turn binary after it.
 */
import { isUtf8 } from 'node:buffer';
import { DEFAULTS } from '../config/defaults.ts';

export const SNIFF_BYTES = DEFAULTS.SNIFF_BYTES;
/** Share of replacement characters above which non-UTF-8 content is treated as binary. */
export const INVALID_UTF8_MAX_RATIO = 0.1;

/**
 * True when `sample` (the first bytes of a file) looks binary. `truncated` says the file
 * continues past the sample, so a multi-byte character cut at its end is not an error.
 */
export function looksBinary(sample: Uint8Array, truncated: boolean): boolean {
  if (sample.indexOf(0) !== -1) return true;
  if (isUtf8(sample)) return false;
  const text = new TextDecoder('utf-8').decode(sample, { stream: truncated });
  if (text.length === 0) return false;
  let bad = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0xfffd) bad++;
  return bad / text.length > INVALID_UTF8_MAX_RATIO;
}

const decoder = new TextDecoder('utf-8');

/** Decodes file bytes as UTF-8 (a leading BOM is dropped, invalid bytes become U+FFFD). */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
