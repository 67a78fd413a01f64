/**
 * A git repository with 10,000 commits for KI-11, written with `git fast-import` (about
 * 2 s) the first time a run needs it and reused by later runs of the same harness process;
 * removed when the process exits. Every commit changes one file, so a path-limited
 * `git log` walks the whole history, as it would in a real project.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const COMMITS = 10_000;

/** Where the repository lives: fixed per harness process, so a scenario's env can name it before any run starts. */
export const HISTORY_DIR = join(tmpdir(), `sb-chaos-ki11-history-${process.pid}`);
export const HISTORY_GIT_DIR = join(HISTORY_DIR, '.git');

let ready: Promise<void> | undefined;

function run(args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: HISTORY_DIR, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git ${args.join(' ')} exited ${code}: ${err.slice(0, 500)}`))));
    if (input !== undefined) child.stdin!.end(input);
  });
}

function stream(): string {
  const parts: string[] = [];
  for (let i = 1; i <= COMMITS; i++) {
    const msg = `commit ${i}`;
    const content = `${i}\n`;
    parts.push(
      `commit refs/heads/main\nmark :${i}\ncommitter Chaos <chaos@example.invalid> ${1_700_000_000 + i} +0000\n` +
        `data ${msg.length}\n${msg}\n${i > 1 ? `from :${i - 1}\n` : ''}M 644 inline CHANGES\ndata ${content.length}\n${content}\n`,
    );
  }
  return parts.join('');
}

/** Creates the repository once (later calls wait for the same work). */
export function ensureHistory(): Promise<void> {
  ready ??= (async () => {
    if (existsSync(join(HISTORY_GIT_DIR, 'HEAD'))) return;
    rmSync(HISTORY_DIR, { recursive: true, force: true });
    mkdirSync(HISTORY_DIR, { recursive: true });
    process.once('exit', () => rmSync(HISTORY_DIR, { recursive: true, force: true }));
    await run(['init', '-q', '-b', 'main', '.']);
    await run(['-c', 'core.fsync=none', 'fast-import', '--quiet'], stream());
  })();
  return ready;
}
