/**
 * Listing: walks directories asynchronously (readdir, GATHER_CONCURRENCY walkers through the
 * shared limiter) and decides by name alone what to read, so nothing is opened that will be
 * dropped: `.gitignore` at every level (negation included), excluded build and vendor
 * directories, secret names, symlinks out of the roots, symlink loops, non-UTF-8 names.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import { isAbortError, throwIfAborted } from '../errors.ts';
import type { Candidate, GatherContext } from './gather-context.ts';
import { EXCLUDED_DIR_NAMES, type IgnoreLevel, isIgnored, pushIgnoreLevel } from './ignore-rules.ts';
import { errnoCode } from './io-errors.ts';
import { type AllowedPath, type ResolvedRoot, displayPath, isInside, isSecretPath, rootOf } from './paths.ts';
import { VCS_DIR_NAMES, isVcsInternal } from './secrets.ts';
import { setImmediate as yieldTurn } from 'node:timers/promises';

/** Directory entries handled before giving the event loop a turn. */
const ENTRIES_PER_TURN = 256;

interface DirTask {
  abs: string;
  rel: string;
  ignore: IgnoreLevel | undefined;
  ancestors: Ancestors | undefined;
}
/** Real paths of the directories above a task on the walk (not the file system), for loop detection. */
interface Ancestors { real: string; parent: Ancestors | undefined }

/**
 * Lists the files under `priority` then `regular` paths (priority first, so the file-count
 * cap can never drop them). Named files and directories are taken even when ignored.
 */
export async function listCandidates(ctx: GatherContext, roots: readonly ResolvedRoot[], priority: readonly AllowedPath[], regular: readonly AllowedPath[]): Promise<Candidate[]> {
  const w = new Walker(ctx, roots, priority);
  for (const p of [...priority, ...regular]) {
    throwIfAborted(ctx.signal);
    // VCS internals are never read, named explicitly or not (`.git/config` can hold tokens).
    if (isVcsInternal(p.relPath) || isVcsInternal(displayPath(p.root, p.realPath))) {
      ctx.skip(p.isDirectory ? `${p.relPath}/` : p.relPath, 'vcs-internal');
      continue;
    }
    if (p.isDirectory) await w.walkFrom(p);
    else w.addCandidate(p.realPath, p.relPath);
  }
  return w.candidates;
}

class Walker {
  readonly candidates: Candidate[] = [];
  readonly #ctx: GatherContext;
  readonly #roots: readonly ResolvedRoot[];
  readonly #byAbs = new Set<string>();
  readonly #visitedDirs = new Set<string>();
  readonly #priorityFiles = new Set<string>();
  readonly #priorityDirs: string[] = [];
  readonly #stack: DirTask[] = [];

  constructor(ctx: GatherContext, roots: readonly ResolvedRoot[], priority: readonly AllowedPath[]) {
    this.#ctx = ctx;
    this.#roots = roots;
    for (const p of priority) {
      if (p.isDirectory) this.#priorityDirs.push(p.realPath);
      else this.#priorityFiles.add(p.realPath);
    }
  }

  async walkFrom(p: AllowedPath): Promise<void> {
    if (this.#visitedDirs.has(p.realPath)) return;
    this.#visitedDirs.add(p.realPath);
    const ignore = await this.#ancestorIgnores(p.root, p.realPath);
    this.#stack.push({ abs: p.realPath, rel: p.relPath, ignore, ancestors: { real: p.realPath, parent: undefined } });
    await this.#drain();
  }

  addCandidate(abs: string, rel: string): void {
    if (this.#byAbs.has(abs)) return;
    const ctx = this.#ctx;
    // The call's own patterns apply to named files too: an explicit exclude is the caller's last word.
    if (ctx.filter) {
      if (ctx.filter.excludes(rel, false)) {
        ctx.skip(rel, 'excluded-by-pattern');
        return;
      }
      if (!ctx.filter.includes(rel)) {
        ctx.stats.notIncluded++;
        return;
      }
    }
    if (this.candidates.length >= ctx.limits.maxFiles) {
      ctx.stats.truncated = true;
      ctx.skip(rel, 'file-count-cap');
      return;
    }
    // A link's target may lie in VCS internals although its own name does not.
    const root = rootOf(abs, this.#roots);
    if (isVcsInternal(rel) || (root && isVcsInternal(displayPath(root, abs)))) {
      ctx.skip(rel, 'vcs-internal');
      return;
    }
    if (!ctx.limits.includeSecrets && isSecretPath(rel)) {
      ctx.skip(rel, 'secret');
      return;
    }
    this.#byAbs.add(abs);
    this.candidates.push({ abs, rel, priority: this.#isPriority(abs) });
  }

  #isPriority(abs: string): boolean {
    if (this.#priorityFiles.has(abs)) return true;
    for (const d of this.#priorityDirs) if (isInside(d, abs)) return true;
    return false;
  }

  /** Drains the directory stack with as many concurrent walkers as the limiter has slots. */
  async #drain(): Promise<void> {
    const width = this.#ctx.limiter.size;
    let active = 0;
    let listed = 0;
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const pump = (): void => {
        if (failed) return;
        while (active < width && this.#stack.length > 0) {
          const task = this.#stack.pop()!;
          active++;
          this.#walkDir(task).then(() => {
            active--;
            listed++;
            this.#ctx.progress(listed, listed + this.#stack.length, `Listing directories: ${this.candidates.length} files found`);
            pump();
          }, (err) => {
            failed = true;
            reject(err);
          });
        }
        if (active === 0 && this.#stack.length === 0) resolve();
      };
      pump();
    });
  }

  async #walkDir(task: DirTask): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.stats.truncated) {
      ctx.skip(task.rel + '/', 'file-count-cap');
      return;
    }
    let entries: Dirent<Buffer>[];
    try {
      entries = await ctx.io(() => readdir(task.abs, { withFileTypes: true, encoding: 'buffer' }));
    } catch (err) {
      ctx.skipForError(task.rel + '/', err);
      return;
    }
    ctx.stats.directories++;
    throwIfAborted(ctx.signal);

    let level = task.ignore;
    if (entries.some((e) => e.isFile() && e.name.length === 10 && e.name.toString('latin1') === '.gitignore')) {
      level = await this.#loadIgnore(level, task.abs, task.rel);
    }

    const links: Array<{ abs: string; rel: string; name: string }> = [];
    let handled = 0;
    for (const entry of entries) {
      // A directory of thousands of entries is matched against ignore and secret rules in
      // slices, so one huge directory cannot hold the event loop (KI-12).
      if (++handled % ENTRIES_PER_TURN === 0) {
        await yieldTurn();
        throwIfAborted(ctx.signal);
      }
      const nameBuf = entry.name;
      const name = nameBuf.toString('utf8');
      const rel = task.rel === '' ? name : `${task.rel}/${name}`;
      // A name that is not valid UTF-8 cannot round-trip through a JS string, so it cannot be opened by name.
      if (!isUtf8(nameBuf)) {
        ctx.skip(rel, 'non-utf8-name');
        continue;
      }
      const abs = join(task.abs, name);
      if (entry.isDirectory()) {
        if (VCS_DIR_NAMES.has(name)) ctx.skip(rel + '/', 'vcs-internal');
        else if (EXCLUDED_DIR_NAMES.has(name)) ctx.skip(rel + '/', 'excluded-dir');
        else if (isIgnored(level, rel, true)) ctx.stats.gitignored++;
        else if (ctx.filter?.excludes(rel, true)) ctx.skip(rel + '/', 'excluded-by-pattern');
        else this.#pushDir(abs, rel, level, task.ancestors);
      } else if (entry.isFile()) {
        if (isIgnored(level, rel, false)) ctx.stats.gitignored++;
        else this.addCandidate(abs, rel);
      } else if (entry.isSymbolicLink()) {
        // Git stores a symlink as a file, so its rules match the link's own path.
        if (isIgnored(level, rel, false)) ctx.stats.gitignored++;
        else links.push({ abs, rel, name });
      } else {
        ctx.skip(rel, 'special-file');
      }
    }
    for (const link of links) {
      throwIfAborted(ctx.signal);
      await this.#followLink(link, level, task);
    }
  }

  #pushDir(abs: string, rel: string, level: IgnoreLevel | undefined, parent: Ancestors | undefined): void {
    if (this.#visitedDirs.has(abs)) return;
    this.#visitedDirs.add(abs);
    this.#stack.push({ abs, rel, ignore: level, ancestors: { real: abs, parent } });
  }

  async #followLink(link: { abs: string; rel: string; name: string }, level: IgnoreLevel | undefined, task: DirTask): Promise<void> {
    const ctx = this.#ctx;
    let target: string;
    try {
      target = await ctx.io(() => realpath(link.abs));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ELOOP') ctx.skip(link.rel, 'symlink-loop');
      else if (code === 'ENOENT' || code === 'ENOTDIR') ctx.skip(link.rel, 'broken-symlink');
      else ctx.skipForError(link.rel, err);
      return;
    }
    // The target's content is never read when it lies outside every root.
    if (!rootOf(target, this.#roots)) {
      ctx.skip(link.rel, 'symlink-outside-roots');
      return;
    }
    let isDir: boolean;
    let isFile: boolean;
    try {
      const st = await ctx.io(() => stat(target));
      isDir = st.isDirectory();
      isFile = st.isFile();
    } catch (err) {
      ctx.skipForError(link.rel, err);
      return;
    }
    if (isFile) {
      this.addCandidate(target, link.rel);
      return;
    }
    if (!isDir) {
      ctx.skip(link.rel, 'special-file');
      return;
    }
    if (VCS_DIR_NAMES.has(link.name)) {
      ctx.skip(link.rel + '/', 'vcs-internal');
      return;
    }
    if (EXCLUDED_DIR_NAMES.has(link.name)) {
      ctx.skip(link.rel + '/', 'excluded-dir');
      return;
    }
    if (isIgnored(level, link.rel, true)) {
      ctx.stats.gitignored++;
      return;
    }
    if (ctx.filter?.excludes(link.rel, true)) {
      ctx.skip(link.rel + '/', 'excluded-by-pattern');
      return;
    }
    for (let a = task.ancestors; a; a = a.parent) {
      if (a.real === target || isInside(target, a.real)) {
        ctx.skip(link.rel + '/', 'symlink-loop');
        return;
      }
    }
    if (this.#visitedDirs.has(target)) {
      ctx.skip(link.rel + '/', 'duplicate');
      return;
    }
    this.#pushDir(target, link.rel, level, task.ancestors);
  }

  async #loadIgnore(parent: IgnoreLevel | undefined, absDir: string, relDir: string): Promise<IgnoreLevel | undefined> {
    const signal = this.#ctx.signal;
    try {
      const text = await this.#ctx.io(() => readFile(join(absDir, '.gitignore'), { encoding: 'utf8', signal }));
      return pushIgnoreLevel(parent, relDir, text);
    } catch (err) {
      if (isAbortError(err)) throwIfAborted(signal);
      // An unreadable .gitignore only means fewer exclusions; the walk goes on.
      return parent;
    }
  }

  /** Rules of the `.gitignore` files from the root down to (not including) `dirReal`. */
  async #ancestorIgnores(root: ResolvedRoot, dirReal: string): Promise<IgnoreLevel | undefined> {
    let level: IgnoreLevel | undefined;
    const chain: string[] = [];
    for (let d = dirReal; d !== root.realPath; ) {
      const up = join(d, '..');
      if (up === d || !isInside(root.realPath, up)) break;
      chain.unshift(up);
      d = up;
    }
    for (const dir of chain) {
      throwIfAborted(this.#ctx.signal);
      level = await this.#loadIgnore(level, dir, displayPath(root, dir));
    }
    return level;
  }
}
