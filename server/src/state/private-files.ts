/**
 * The state directory holds every question, answer and job argument: it is private to the
 * user who runs the server. Directories are created 0700 and files 0600 whatever the
 * umask (a mode passed to mkdir/open can only lose bits to the umask, never gain them),
 * and an existing directory or file readable by others is tightened.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

/** Mode of the state directory and of every directory below it. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file in the state directory. */
export const PRIVATE_FILE_MODE = 0o600;
const STICKY = 0o1000;

/** What `ensurePrivateDir` found and did. */
export interface PrivateDirResult {
  /** Mode bits before, when the directory existed and was open to others. */
  tightenedFrom?: number;
  /** Set when the directory is open to others but is not ours to change (a shared, sticky or foreign directory). */
  leftOpen?: string;
}

/**
 * Creates `dir` (and missing parents) 0700, or tightens an existing one that others can
 * read, write or enter. A sticky directory (such as /tmp) or one owned by another user is
 * never changed: that would break other users; it is reported in `leftOpen` instead.
 */
export function ensurePrivateDir(dir: string): PrivateDirResult {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const st = statSync(dir);
  const mode = st.mode & 0o7777;
  if ((mode & 0o077) === 0) return {};
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if ((mode & STICKY) !== 0 || st.uid !== uid) return { leftOpen: `${dir} is shared (mode ${octal(mode)}); choose a private SECOND_BRAIN_HOME` };
  chmodSync(dir, PRIVATE_DIR_MODE);
  return { tightenedFrom: mode };
}

/** Creates `path` empty 0600 if missing, and tightens it to 0600 if it is open to others. */
export function ensurePrivateFile(path: string): void {
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  tightenFile(path);
}

/** Tightens an existing file to 0600 if others can read or write it; a missing file is fine. */
export function tightenFile(path: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch {
    return;
  }
  if ((mode & 0o077) !== 0) chmodSync(path, PRIVATE_FILE_MODE);
}

export function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}
