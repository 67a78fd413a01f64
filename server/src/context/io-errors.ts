/**
 * File-system error codes as skip reasons, shared by the directory walk, the event-loop
 * reader and the reader thread so a file is reported the same way whichever path read it.
 */
import { constants as fsConstants } from 'node:fs';
import type { SkipReason } from './types.ts';

// O_NOFOLLOW: a listed file replaced by a symlink before it is opened must not lead out of the
// roots. O_NONBLOCK: a file replaced by a FIFO must not park a thread in open() forever.
export const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);

/** The errno code of a Node file-system error, or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** True for "too many open files" in the process (EMFILE) or the system (ENFILE). */
export function isDescriptorExhaustion(code: string | undefined): boolean {
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * Skip reason for an errno met while reading a listed file. ELOOP there means the file was
 * swapped for a symlink after listing (O_NOFOLLOW refused it), which is "unreadable" rather
 * than a loop; the walk reports real loops itself.
 */
export function reasonForReadError(code: string): SkipReason {
  if (code === 'ELOOP') return 'unreadable';
  return reasonForWalkError(code);
}

/** Skip reason for an errno met while listing a directory or resolving a link. */
export function reasonForWalkError(code: string): SkipReason {
  switch (code) {
    case 'ENOENT': case 'ENOTDIR': return 'vanished';
    case 'EMFILE': case 'ENFILE': return 'too-many-open-files';
    case 'EISDIR': case 'ENXIO': case 'EAGAIN': return 'special-file';
    case 'ELOOP': return 'symlink-loop';
    default: return 'unreadable';
  }
}
