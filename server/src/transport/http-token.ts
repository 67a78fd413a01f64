/**
 * The bearer token HTTP mode requires: SECOND_BRAIN_HTTP_TOKEN when set, else the one
 * kept in `<state dir>/http-token` (generated on first start, 0600). Keeping it across
 * restarts means a client configured once keeps working.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULTS } from '../config/defaults.ts';
import { ErrorCode, SbError } from '../errors.ts';

export const HTTP_TOKEN_FILE = 'http-token';

export interface HttpToken {
  token: string;
  /** Where it came from: the setting, or the file (absolute path). */
  source: { setting: 'SECOND_BRAIN_HTTP_TOKEN' } | { file: string; created: boolean; tightened: boolean };
}

const USABLE = /^[A-Za-z0-9\-._~+/]{16,}=*$/;

/**
 * Resolves the token. Never logs or returns it anywhere but `token`.
 * A token file readable by others is tightened to 0600 (`tightened: true`); an unusable
 * file is replaced by a fresh token.
 */
export async function resolveHttpToken(opts: { home: string; setting?: string; signal?: AbortSignal }): Promise<HttpToken> {
  if (opts.setting) return { token: opts.setting, source: { setting: 'SECOND_BRAIN_HTTP_TOKEN' } };
  const file = join(opts.home, HTTP_TOKEN_FILE);
  try {
    const st = await stat(file);
    const existing = (await readFile(file, { encoding: 'utf8', signal: opts.signal })).trim();
    if (USABLE.test(existing)) {
      let tightened = false;
      if ((st.mode & 0o077) !== 0) { await chmod(file, 0o600); tightened = true; }
      return { token: existing, source: { file, created: false, tightened } };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if ((err as Error).name === 'AbortError') throw err;
      throw new SbError(ErrorCode.CONFIG, `Failed to read the HTTP token file ${file}: ${(err as Error).message}. Fix its permissions or set SECOND_BRAIN_HTTP_TOKEN.`, { cause: err });
    }
  }
  opts.signal?.throwIfAborted();
  const token = randomBytes(DEFAULTS.HTTP_TOKEN_BYTES).toString('base64url');
  await mkdir(opts.home, { recursive: true, mode: 0o700 });
  // Written to a private temporary file, then renamed: the token is never in a file
  // another user could read, not even for a moment, and a crash leaves no half token.
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(`${token}\n`, { signal: opts.signal });
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, file);
  return { token, source: { file, created: true, tightened: false } };
}
