/**
 * File content for uploads: hashing (the dedup key, KI-14), reading, and the name the
 * provider sees. Reads are bounded by the caller's concurrency (KI-08, KI-12) and take
 * the signal; hashing of an already-read buffer is cheap next to the upload itself.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { AttachFile } from './types.ts';
import type { VectorState } from './state.ts';
import { forEachLimit } from './pool.ts';
import { ErrorCode, SbError, abortReasonToError } from '../errors.ts';

export function sha256Of(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The bytes to upload: the text the caller already holds, else the file on disk. */
export async function readContent(file: AttachFile, signal: AbortSignal): Promise<Buffer> {
  if (file.load) return file.load(signal);
  if (file.bytes !== undefined) return Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength);
  if (file.text !== undefined) return Buffer.from(file.text, 'utf8');
  try {
    return await readFile(file.absPath, { signal });
  } catch (err) {
    if (signal.aborted) throw abortReasonToError(signal.reason);
    throw new SbError(ErrorCode.UPLOAD_FAILED, `Failed to read ${file.relPath}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Fills in missing sha256 values. Files with text are hashed from the text; others are
 * read (`concurrency` at a time) unless the cache knows their (path, size, mtime).
 * Returns the files that could not be read, with the reason.
 */
export async function ensureHashes(
  files: AttachFile[],
  state: VectorState,
  concurrency: number,
  signal: AbortSignal,
): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  const toRead: AttachFile[] = [];
  for (const f of files) {
    if (f.sha256) continue;
    if (f.bytes !== undefined) { f.sha256 = sha256Of(f.bytes); continue; }
    if (f.text !== undefined) { f.sha256 = sha256Of(f.text); continue; }
    const cached = state.cachedHash(f.absPath, f.size, f.mtimeMs);
    if (cached) f.sha256 = cached; else toRead.push(f);
  }
  const errors = await forEachLimit(toRead, concurrency, signal, async (f) => {
    const bytes = await readContent(f, signal);
    f.sha256 = sha256Of(bytes);
    try { state.putHash(f.absPath, f.size, f.mtimeMs, f.sha256); } catch { /* cache is an optimisation; a busy database must not fail the call */ }
  });
  if (signal.aborted) throw abortReasonToError(signal.reason);
  for (const e of errors) failed.set(toRead[e.index]!.relPath, (e.error as Error).message);
  return failed;
}

/**
 * Extensions file_search indexes. Anything else is uploaded with `.txt` appended, or the
 * provider rejects it as `unsupported_file`.
 */
const SEARCHABLE_EXTENSIONS = new Set([
  '.c', '.cpp', '.cs', '.css', '.doc', '.docx', '.go', '.html', '.java', '.js', '.json', '.md',
  '.pdf', '.php', '.pptx', '.py', '.rb', '.sh', '.tex', '.ts', '.txt',
]);

/** The filename sent with the upload: the project-relative path, so citations name it. */
export function uploadName(relPath: string): string {
  return SEARCHABLE_EXTENSIONS.has(extname(relPath).toLowerCase()) ? relPath : `${relPath}.txt`;
}
