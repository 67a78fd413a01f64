/**
 * Large upload bodies go out from a file, not from memory. fetch (undici) turns an
 * in-memory Blob into the multipart request body in one run of microtasks, so a 4.7 MB
 * bundle held the event loop for the whole copy; a Blob backed by a file
 * (`fs.openAsBlob`) is read in asynchronous chunks, and the loop turns between them.
 *
 * The files live in `<home>/upload-spool/` (0700; files 0600, they hold project content),
 * are named after the process that wrote them, and are deleted once the request ends
 * (sent, failed or cancelled). A sweep at start deletes the ones of processes that died.
 */
import { openAsBlob } from 'node:fs';
import { readdir, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../state/private-files.ts';
import { abortReasonToError } from '../errors.ts';

export interface SpooledFile {
  file: File;
  /** Deletes the spool file; never throws. */
  release: () => Promise<void>;
}

const NAME = /^(\d+)-[0-9a-f]+\.upload$/;

/** Writes `bytes` to a private file in `dir` and returns a File backed by it. */
export async function spoolUpload(dir: string, bytes: Uint8Array, name: string, type: string, signal: AbortSignal): Promise<SpooledFile> {
  ensurePrivateDir(dir);
  const path = join(dir, `${process.pid}-${randomBytes(8).toString('hex')}.upload`);
  const release = () => unlink(path).catch(() => {});
  try {
    await writeFile(path, bytes, { mode: PRIVATE_FILE_MODE, signal });
    const blob = await openAsBlob(path, { type });
    return { file: new File([blob], name, { type }), release };
  } catch (err) {
    await release();
    if (signal.aborted) throw abortReasonToError(signal.reason);
    throw err;
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists, it is someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes spool files left by processes that are gone. Returns how many. */
export async function sweepSpool(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    const m = NAME.exec(n);
    if (!m || alive(Number(m[1]))) continue;
    try {
      await unlink(join(dir, n));
      removed++;
    } catch { /* gone already, or another sweep took it */ }
  }
  return removed;
}
