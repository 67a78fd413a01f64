/**
 * Branch and HEAD of the project, for labelling memory entries. Async `execFile` with a
 * timeout, the task's signal and a small output cap (KI-11: the old server ran git
 * synchronously on the event loop). Not a git repository, or git missing, gives {}.
 */
import { execFile } from 'node:child_process';

export interface GitInfo {
  branch?: string;
  head?: string;
}

export type GitInfoFn = (cwd: string, signal: AbortSignal, timeoutMs: number) => Promise<GitInfo>;

function git(args: string[], cwd: string, signal: AbortSignal, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, signal, timeout: timeoutMs, maxBuffer: 64 * 1024, windowsHide: true, encoding: 'utf8' },
      (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
}

/** Reads branch and HEAD; each command is bounded by `timeoutMs` and `signal`. */
export const readGitInfo: GitInfoFn = async (cwd, signal, timeoutMs) => {
  const [branch, head] = await Promise.all([
    git(['rev-parse', '--abbrev-ref', 'HEAD'], cwd, signal, timeoutMs),
    git(['rev-parse', 'HEAD'], cwd, signal, timeoutMs),
  ]);
  return { ...(branch ? { branch } : {}), ...(head ? { head } : {}) };
};
