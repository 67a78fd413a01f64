/**
 * Path validation: every path a tool call names must resolve, after symlinks, to a place
 * inside one of the client's roots. Nothing outside the roots is ever opened for reading.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { isSecretName } from './secrets.ts';
import { ErrorCode, SbError, throwIfAborted } from '../errors.ts';

/** A validated root: its real path and the prefix its files get in `relPath`. */
export interface ResolvedRoot {
  /** Real absolute path of the root directory. */
  realPath: string;
  /** '' with a single root; `name/` (unique among roots) when there are several. */
  displayPrefix: string;
}

/** One requested path after validation. */
export interface AllowedPath {
  /** The path as the caller wrote it. */
  input: string;
  /** Real absolute path (symlinks resolved). */
  realPath: string;
  /** The root it lies in. */
  root: ResolvedRoot;
  /** Display path relative to the root ('' for the root itself). */
  relPath: string;
  isDirectory: boolean;
}

/** True when `child` is `parent` itself or lies below it. Both must be absolute and normalised. */
export function isInside(parent: string, child: string): boolean {
  if (child === parent) return true;
  const rel = relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel);
}

/** Converts a platform relative path to the POSIX form shown to models. */
export function toPosix(rel: string): string {
  return sep === '/' ? rel : rel.split(sep).join('/');
}

/**
 * Resolves the client's roots to real directories. Roots that do not exist are dropped
 * (a client may list a root that was deleted since); if none is left the call fails.
 * @throws SbError SB_ERR_INVALID_ARGUMENT when `roots` is empty or none of them exists.
 */
export async function resolveRoots(roots: readonly string[], signal: AbortSignal): Promise<ResolvedRoot[]> {
  if (!Array.isArray(roots) || roots.length === 0) {
    throw new SbError(ErrorCode.INVALID_ARGUMENT, 'Failed to gather context: no allowed roots are configured. Try opening a workspace folder in the client or passing a root.', { details: { option: 'roots' } });
  }
  const real: string[] = [];
  for (const r of roots) {
    throwIfAborted(signal);
    if (typeof r !== 'string' || r === '' || !isAbsolute(r)) {
      throw new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to gather context: root ${JSON.stringify(r)} is not an absolute path. Try an absolute directory path.`, { details: { option: 'roots', root: r } });
    }
    try {
      const rp = await realpath(r);
      if (!(await stat(rp)).isDirectory()) continue;
      if (!real.includes(rp)) real.push(rp);
    } catch (err) {
      if (isMissing(err)) continue;
      throw err;
    }
  }
  if (real.length === 0) {
    throw new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to gather context: none of the roots exists (${roots.join(', ')}). Try reopening the workspace.`, { details: { option: 'roots' } });
  }
  const used = new Set<string>();
  return real.map((realPath) => {
    if (real.length === 1) return { realPath, displayPrefix: '' };
    const base = basename(realPath) || 'root';
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}#${i}`;
    used.add(name);
    return { realPath, displayPrefix: `${name}/` };
  });
}

/** Finds the first root containing `realPath`, or undefined. */
export function rootOf(realPath: string, roots: readonly ResolvedRoot[]): ResolvedRoot | undefined {
  return roots.find((r) => isInside(r.realPath, realPath));
}

/** Display path of `realPath` inside `root` (POSIX, no leading slash, '' for the root itself unless prefixed). */
export function displayPath(root: ResolvedRoot, realPath: string): string {
  const rel = toPosix(relative(root.realPath, realPath));
  if (root.displayPrefix === '') return rel;
  return rel === '' ? root.displayPrefix.slice(0, -1) : root.displayPrefix + rel;
}

/**
 * Validates the paths a tool call names. Each is resolved (relative paths against the first
 * root), then `realpath`ed so a symlink cannot lead outside the roots, then checked for
 * containment. Content is never read here.
 *
 * All paths are checked before anything is thrown, so the error names every bad path.
 * A missing path that would lie outside the roots anyway is reported as outside, so the
 * answer reveals nothing about files beyond the roots.
 *
 * @throws SbError SB_ERR_PATH_OUTSIDE_ROOTS (details.paths lists them), SB_ERR_PATH_NOT_FOUND,
 *   SB_ERR_INVALID_ARGUMENT for empty or non-string entries.
 * @example
 *   const ok = await resolveAllowedPaths(['src', '/repo/README.md'], ['/repo'], signal);
 */
export async function resolveAllowedPaths(
  paths: readonly string[],
  roots: readonly string[] | readonly ResolvedRoot[],
  signal: AbortSignal,
): Promise<AllowedPath[]> {
  const resolvedRoots = isResolvedRoots(roots) ? roots : await resolveRoots(roots, signal);
  const base = resolvedRoots[0]!.realPath;
  const outside: string[] = [];
  const missing: string[] = [];
  const out: AllowedPath[] = [];
  for (const input of paths) {
    throwIfAborted(signal);
    if (typeof input !== 'string' || input.trim() === '' || input.includes('\0')) {
      throw new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to gather context: path ${JSON.stringify(input)} is empty or malformed. Try a file or directory path inside the workspace.`, { details: { option: 'paths', path: input } });
    }
    const lexical = resolve(base, input);
    let real: string;
    try {
      real = await realpath(lexical);
    } catch (err) {
      if ((err as NodeJS.ErrnoException)?.code === 'ELOOP') {
        throw new SbError(ErrorCode.INVALID_ARGUMENT, `Failed to gather context: ${input} is a symlink loop (it resolves to itself through ${lexical}). Try the directory or file it was meant to point to, or fix the link.`, { cause: err, details: { option: 'paths', path: input } });
      }
      if (!isMissing(err)) throw err;
      // Judge by the lexical path: a missing path beyond the roots is "outside", not "missing".
      if (resolvedRoots.some((r) => isInside(r.realPath, lexical))) missing.push(input);
      else outside.push(input);
      continue;
    }
    const root = rootOf(real, resolvedRoots);
    if (!root) {
      outside.push(input);
      continue;
    }
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(real)).isDirectory();
    } catch (err) {
      if (!isMissing(err)) throw err;
      missing.push(input);
      continue;
    }
    out.push({ input, realPath: real, root, relPath: displayPath(root, real), isDirectory });
  }
  const rootList = resolvedRoots.map((r) => r.realPath).join(', ');
  if (outside.length > 0) {
    throw new SbError(ErrorCode.PATH_OUTSIDE_ROOTS, `Failed to gather context: ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} outside the allowed roots (${rootList}). Try a path inside one of them, or add the folder as a root in your client.`, { details: { paths: outside, roots: resolvedRoots.map((r) => r.realPath) } });
  }
  if (missing.length > 0) {
    throw new SbError(ErrorCode.PATH_NOT_FOUND, `Failed to gather context: ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist. Try a path relative to ${base}, or an absolute one.`, { details: { paths: missing } });
  }
  return out;
}

function isResolvedRoots(roots: readonly string[] | readonly ResolvedRoot[]): roots is readonly ResolvedRoot[] {
  return roots.length > 0 && typeof roots[0] === 'object';
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * True when a file's path marks it as likely to hold secrets (see `SECRET_NAME_PATTERNS` in
 * `secrets.ts`: env files, keys, cloud and cluster credentials, registry auth, shell
 * history, token and secrets files). Such files are left out by default and reported with
 * reason `secret`.
 * @example isSecretPath('config/.env.production') // true
 */
export function isSecretPath(relPath: string): boolean {
  return isSecretName(relPath);
}
