/**
 * Test-only defect implementations of the memory queue. Nothing here runs unless its
 * switch is on (`defectOn` in config/test-defects.ts, the one registry).
 */
import { execFileSync } from 'node:child_process';
import type { GitInfo } from './git-info.ts';
import { DEFAULTS } from '../config/defaults.ts';


function gitSync(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: DEFAULTS.GIT_TIMEOUT_MS }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `memory-on-event-loop` (KI-01, KI-11): the first version's memory task ran git on the
 * event loop, once for the branch and head and once per file of the conversation, so
 * the next query stalled at any await until it finished.
 */
export function gitInfoOnEventLoop(cwd: string, files: readonly string[]): GitInfo {
  const branch = gitSync(['rev-parse', '--abbrev-ref', 'HEAD'], cwd);
  const head = gitSync(['rev-parse', 'HEAD'], cwd);
  for (const f of files) gitSync(['log', '-1', '--format=%H', '--', f], cwd);
  return { ...(branch ? { branch } : {}), ...(head ? { head } : {}) };
}
