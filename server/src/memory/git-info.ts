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

/** Reads the labels of one memory entry: the project root, the files of its conversation, the task's signal. */
export type EntryGitInfoFn = (cwd: string, files: readonly string[], signal: AbortSignal) => Promise<GitInfo>;

function git(args: string[], cwd: string, signal: AbortSignal, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, signal, timeout: timeoutMs, maxBuffer: 64 * 1024, windowsHide: true, encoding: 'utf8' },
      (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
}

/**
 * Reads HEAD and branch with one git process (each spawn costs the event loop a few ms),
 * bounded by `timeoutMs` and `signal`.
 */
export const readGitInfo: GitInfoFn = async (cwd, signal, timeoutMs) => {
  const out = await git(['rev-parse', 'HEAD', '--abbrev-ref', 'HEAD'], cwd, signal, timeoutMs);
  const [head, branch] = (out ?? '').split('\n').map((l) => l.trim());
  return { ...(branch ? { branch } : {}), ...(head ? { head } : {}) };
};
