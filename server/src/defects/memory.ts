/**
 * `memory-on-event-loop` (KI-01, KI-11): the memory queue's git reader put back as the
 * first version had it. The seam is MemoryQueueOptions.entryGitInfo; defects/seams.ts
 * passes this reader when the switch is on.
 */
import { execFileSync } from 'node:child_process';
import type { EntryGitInfoFn } from '../memory/git-info.ts';
import { DEFAULTS } from '../config/defaults.ts';

function gitSync(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: DEFAULTS.GIT_TIMEOUT_MS }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Git on the event loop, once for the branch and head and once per file of the
 * conversation, uncached, so the next query stalls at any await until it finishes.
 */
export const gitInfoOnEventLoop: EntryGitInfoFn = async (cwd, files) => {
  const branch = gitSync(['rev-parse', '--abbrev-ref', 'HEAD'], cwd);
  const head = gitSync(['rev-parse', 'HEAD'], cwd);
  for (const f of files) gitSync(['log', '-1', '--format=%H', '--', f], cwd);
  return { ...(branch ? { branch } : {}), ...(head ? { head } : {}) };
};
