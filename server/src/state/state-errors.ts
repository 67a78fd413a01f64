/**
 * SQLite and file-system failures of the state directory, turned into errors a person can
 * act on: the path, what is wrong, what to do. node:sqlite reports the primary SQLite result
 * code in `errcode` (extended codes carry it in the low byte); mkdir/open report an errno.
 */
import { ErrorCode, SbError } from '../errors.ts';

// SQLite primary result codes (https://sqlite.org/rescode.html).
const SQLITE_PERM = 3;
const SQLITE_READONLY = 8;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_NOTADB = 26;

const MOVE_HOME = 'or set SECOND_BRAIN_HOME to another directory';

/** What went wrong with the state, as one of the state error codes, or undefined when it is not a state-storage failure. */
export function stateFailureKind(err: unknown): ErrorCode | undefined {
  const e = err as { errcode?: unknown; code?: unknown } | undefined;
  if (typeof e?.errcode === 'number') {
    switch (e.errcode & 0xff) {
      case SQLITE_FULL: return ErrorCode.STATE_DISK_FULL;
      case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_CANTOPEN: return ErrorCode.STATE_UNWRITABLE;
      case SQLITE_CORRUPT: case SQLITE_NOTADB: return ErrorCode.STATE_CORRUPT;
      default: return undefined;
    }
  }
  switch (e?.code) {
    case 'ENOSPC': case 'EDQUOT': return ErrorCode.STATE_DISK_FULL;
    // mkdir -p on a read-only file system reports ENOENT for the missing parent it could not create.
    case 'EROFS': case 'EACCES': case 'EPERM': case 'ENOENT': case 'ENOTDIR': return ErrorCode.STATE_UNWRITABLE;
    default: return undefined;
  }
}

/**
 * Wraps a state-storage failure at `path` (the database file or the state dir) into an
 * SbError with advice; `doing` says what was attempted ("open", "write"). Anything that is
 * not a storage failure is returned unchanged.
 */
export function stateError(err: unknown, path: string, doing: string): unknown {
  if (err instanceof SbError) return err;
  const kind = stateFailureKind(err);
  const e = err as NodeJS.ErrnoException | undefined;
  // mkdir -p reports ENOENT when it cannot create a missing parent, e.g. on a read-only file system.
  const reason = e?.code === 'ENOENT' && e.syscall === 'mkdir'
    ? `cannot create ${e.path ?? 'the directory'}: its parent is missing and cannot be created, or is on a read-only file system`
    : e?.message ?? String(err);
  switch (kind) {
    case ErrorCode.STATE_DISK_FULL:
      return new SbError(kind, `Failed to ${doing} the state database ${path}: the disk is full (${reason}). Free space on that file system, ${MOVE_HOME}.`, { cause: err, details: { path } });
    case ErrorCode.STATE_UNWRITABLE:
      return new SbError(kind, `Failed to ${doing} the state database ${path}: the directory or file cannot be written (or read) by this user (${reason}). Make it writable (e.g. chmod u+rwx on the directory), ${MOVE_HOME}.`, { cause: err, details: { path } });
    case ErrorCode.STATE_CORRUPT:
      return new SbError(kind, `Failed to ${doing} the state database ${path}: ${reason}; the file is not a SQLite database or is damaged. Move it aside (mv "${path}" "${path}.broken") and start again: a new one is created, and the saved sessions and jobs in the old file are lost; ${MOVE_HOME}.`, { cause: err, details: { path } });
    default:
      return err;
  }
}
