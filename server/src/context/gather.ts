/**
 * Gathering: validates the requested paths, lists the files under them (`walk.ts`) and reads
 * the text ones (`read-files.ts`).
 *
 * Two phases, so nothing is opened that will be dropped: listing decides by name (gitignore,
 * excluded directories, secrets, links out of the roots); reading opens each remaining file
 * once. All file-system work of both phases holds a slot of the process-wide
 * `gatherIoLimiter` (KI-08, KI-12): at most GATHER_CONCURRENCY (2) descriptors are open for
 * gathering at any time, and at most that many of libuv's 4 pool threads are busy with it, so
 * other file work and DNS keep moving.
 *
 * Nothing here crashes on a hostile tree: symlink loops, links out of the roots, files that
 * vanish or lose permissions between listing and reading, non-UTF-8 names and EMFILE all
 * become a skipped entry with a reason.
 */
import { ErrorCode, SbError, throwIfAborted } from '../errors.ts';
import { GatherContext, type GatherLimits, type GatherStats } from './gather-context.ts';
import { compilePathFilter } from './ignore-rules.ts';
import { type ResolvedRoot, resolveAllowedPaths, resolveRoots } from './paths.ts';
import { readCandidates } from './read-files.ts';
import { listCandidates } from './walk.ts';
import { screenFiles } from './secret-scan.ts';
import type { Redaction } from './secrets.ts';
import type { GatheredFile, ProgressFn, SkippedEntry } from './types.ts';

export type { GatherLimits, GatherStats } from './gather-context.ts';

export interface GatherOptions {
  /** Files and directories to gather, absolute or relative to the first root. */
  paths: readonly string[];
  /** Files and directories whose files are marked `priority` (gathered too, and first). Default []. */
  priorityPaths?: readonly string[];
  /** Absolute directories the client allows; nothing outside them is read. */
  roots: readonly string[] | readonly ResolvedRoot[];
  signal: AbortSignal;
  /** Caps; defaults from DEFAULTS (MAX_FILE_BYTES 1 MiB, MAX_TOTAL_BYTES 100 MiB, MAX_FILES 50,000), secrets excluded. */
  limits?: Partial<GatherLimits>;
  /** Called while listing (total grows) and while reading (total fixed), at most every 100 ms. */
  onProgress?: ProgressFn;
  /**
   * gitignore-syntax patterns matched against display paths: only files an `include` pattern
   * matches are gathered (the rest are counted in `stats.notIncluded`), and files or
   * directories an `exclude` pattern matches are skipped as `excluded-by-pattern`. They apply to
   * named files too. Default [] (no filtering).
   */
  include?: readonly string[];
  exclude?: readonly string[];
}

export interface GatherResult {
  /** Gathered files: priority files first, then by `relPath`. */
  files: GatheredFile[];
  skipped: SkippedEntry[];
  stats: GatherStats;
  /** Files whose credential-shaped strings were replaced by `[redacted]` before anything else saw them. */
  redactions: Redaction[];
}

/**
 * Gathers the text files under `paths` (and `priorityPaths`).
 * Paths are validated first (see `resolveAllowedPaths`); directories are walked honouring
 * `.gitignore` at every level and skipping EXCLUDED_DIR_NAMES; explicitly named files and
 * directories are taken even when ignored. Secret-looking files are skipped unless
 * `limits.includeSecrets`. Content is read by content, not extension: binary files are skipped.
 * @throws SbError PATH_OUTSIDE_ROOTS / PATH_NOT_FOUND / INVALID_ARGUMENT from validation,
 *   CANCELLED / DEADLINE_EXCEEDED when `signal` fires.
 * @example
 *   const { files, skipped } = await gatherFiles({ paths: ['src'], roots: ['/repo'], signal });
 */
export async function gatherFiles(options: GatherOptions): Promise<GatherResult> {
  const started = performance.now();
  const { signal } = options;
  throwIfAborted(signal);
  if (!Array.isArray(options.paths)) {
    throw new SbError(ErrorCode.INVALID_ARGUMENT, 'Failed to gather context: `paths` must be an array of strings. Try ["src"].', { details: { option: 'paths' } });
  }
  const ctx = new GatherContext(signal, options.limits, options.onProgress, compilePathFilter(options.include, options.exclude));
  const roots = isResolved(options.roots) ? [...options.roots] : await resolveRoots(options.roots, signal);
  const priority = await resolveAllowedPaths(options.priorityPaths ?? [], roots, signal);
  const regular = await resolveAllowedPaths(options.paths, roots, signal);
  const candidates = await listCandidates(ctx, roots, priority, regular);
  const { files, redactions } = await screenFiles(ctx, await readCandidates(ctx, candidates));
  ctx.stats.files = files.length;
  ctx.stats.elapsedMs = Math.round(performance.now() - started);
  return { files, skipped: ctx.skipped, stats: ctx.stats, redactions };
}

function isResolved(roots: readonly string[] | readonly ResolvedRoot[]): roots is readonly ResolvedRoot[] {
  return roots.length > 0 && typeof roots[0] === 'object';
}
