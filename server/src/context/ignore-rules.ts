/**
 * What the directory walk leaves out by name: build, vendor and cache directories, and
 * whatever the project's `.gitignore` files say, at every level, with git's precedence.
 */
import ignore, { type Ignore } from 'ignore';

/**
 * Directory names never descended into during a walk (they may still be named explicitly).
 * Generated, vendored or cached trees: large, and rarely what a question is about.
 */
export const EXCLUDED_DIR_NAMES: ReadonlySet<string> = new Set([
  '.git', '.hg', '.svn', 'node_modules', 'bower_components', 'jspm_packages', 'vendor',
  'dist', 'build', 'out', 'target', '.next', '.nuxt', '.svelte-kit', '.turbo', '.vercel', '.parcel-cache',
  '.cache', 'coverage', '.nyc_output', '.venv', 'venv', '__pycache__', '.tox', '.nox', '.mypy_cache',
  '.pytest_cache', '.ruff_cache', '.gradle', '.terraform', '.pnpm-store', '.yarn', '.idea', '.eggs',
]);

/**
 * One level of gitignore rules: the rules of one directory's `.gitignore`, and the level
 * above it. Git gives a deeper file's rules precedence over a shallower one's, and within a
 * file the last matching rule wins (`ignore` handles that part).
 */
export interface IgnoreLevel {
  /** Display path of the directory holding the `.gitignore`, '' for the root, else ending with '/'. */
  readonly base: string;
  readonly rules: Ignore;
  readonly parent: IgnoreLevel | undefined;
}

/** Adds a level for a directory's `.gitignore` content. */
export function pushIgnoreLevel(parent: IgnoreLevel | undefined, dirRelPath: string, gitignoreText: string): IgnoreLevel {
  const base = dirRelPath === '' ? '' : dirRelPath.endsWith('/') ? dirRelPath : dirRelPath + '/';
  return { base, rules: ignore({ ignorecase: CASE_INSENSITIVE_FS }).add(gitignoreText), parent };
}

// Git follows the file system: core.ignorecase is on by default only where names fold case.
const CASE_INSENSITIVE_FS = process.platform === 'darwin' || process.platform === 'win32';

/**
 * True when `relPath` (a display path under the walk root, POSIX) is ignored by the chain.
 * Levels are asked deepest first; the first that either ignores the path or re-includes it
 * with a `!` rule decides. A level with no matching rule defers to its parent.
 */
export function isIgnored(level: IgnoreLevel | undefined, relPath: string, isDirectory: boolean): boolean {
  for (let l = level; l; l = l.parent) {
    if (l.base !== '' && !relPath.startsWith(l.base)) continue;
    const local = relPath.slice(l.base.length) + (isDirectory ? '/' : '');
    if (local === '' || local === '/') continue;
    let r: { ignored: boolean; unignored: boolean };
    try {
      r = l.rules.test(local);
    } catch {
      // `ignore` rejects names it cannot express as a relative path (such as '...'); no rule can match them.
      continue;
    }
    if (r.ignored) return true;
    if (r.unignored) return false;
  }
  return false;
}

/**
 * The caller's own `include` / `exclude` patterns for one call, in gitignore syntax (the same
 * `ignore` library as `.gitignore`, so `*.test.ts`, `docs/`, `/build.ts` and `!keep.ts`
 * mean what they mean there). Patterns match display paths (relative to the root, POSIX).
 */
export interface PathFilter {
  /** True when an `exclude` pattern matches the file or directory. */
  excludes(relPath: string, isDirectory: boolean): boolean;
  /** True when there are no `include` patterns, or one matches the file. */
  includes(relPath: string): boolean;
}

/** Compiles `include` / `exclude` patterns; undefined when both are empty (nothing to filter). */
export function compilePathFilter(include: readonly string[] = [], exclude: readonly string[] = []): PathFilter | undefined {
  if (include.length === 0 && exclude.length === 0) return undefined;
  const inc = include.length > 0 ? ignore({ ignorecase: CASE_INSENSITIVE_FS }).add([...include]) : undefined;
  const exc = exclude.length > 0 ? ignore({ ignorecase: CASE_INSENSITIVE_FS }).add([...exclude]) : undefined;
  return {
    excludes: (relPath, isDirectory) => matches(exc, relPath + (isDirectory ? '/' : '')),
    includes: (relPath) => !inc || matches(inc, relPath),
  };
}

function matches(rules: Ignore | undefined, path: string): boolean {
  if (!rules || path === '' || path === '/') return false;
  try {
    // `ignores` also answers for a file under a matching directory pattern (`docs/` matches `docs/a.md`).
    return rules.ignores(path);
  } catch {
    // A name `ignore` cannot express as a relative path (such as '...') matches no pattern.
    return false;
  }
}
