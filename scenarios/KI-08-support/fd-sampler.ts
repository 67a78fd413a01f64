/**
 * Figures about the server process from /proc (Linux; elsewhere null, and the checks say
 * "not measured"): its open descriptors sampled while calls run (KI-08, KI-12), in all and
 * pointing into the project being gathered; and how long its threads waited for a CPU,
 * which tells machine load apart from a blocked event loop.
 */
import { readdir, readlink } from 'node:fs/promises';
import { nowMs, sleep } from '../../harness/src/driver/clock.ts';

export interface FdSummary {
  samples: number;
  /** Largest number of descriptors open at one sample. */
  maxTotal: number | null;
  /** Largest number of descriptors open on files under the project at one sample. */
  maxProject: number | null;
  /** Descriptors open at the first sample. */
  first: number | null;
}

export class FdSampler {
  readonly #pid: number;
  readonly #projectRoot: string;
  readonly #intervalMs: number;
  #stop = false;
  #loop: Promise<void> | undefined;
  readonly summary: FdSummary = { samples: 0, maxTotal: null, maxProject: null, first: null };

  constructor(pid: number, projectRoot: string, intervalMs = 5) {
    this.#pid = pid;
    this.#projectRoot = projectRoot.endsWith('/') ? projectRoot : `${projectRoot}/`;
    this.#intervalMs = intervalMs;
  }

  start(): this {
    this.#loop = (async () => {
      while (!this.#stop) {
        await this.#sampleOnce();
        await sleep(this.#intervalMs);
      }
    })();
    return this;
  }

  async stop(): Promise<FdSummary> {
    this.#stop = true;
    await this.#loop;
    return this.summary;
  }

  async #sampleOnce(): Promise<void> {
    const dir = `/proc/${this.#pid}/fd`;
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return;
    }
    const links = await Promise.all(entries.map((e) => readlink(`${dir}/${e}`).catch(() => '')));
    const project = links.filter((l) => l.startsWith(this.#projectRoot)).length;
    const s = this.summary;
    s.samples += 1;
    s.first ??= entries.length;
    s.maxTotal = Math.max(s.maxTotal ?? 0, entries.length);
    s.maxProject = Math.max(s.maxProject ?? 0, project);
  }
}

/** Runs `work` while sampling; returns its result and the summary. */
export async function whileSampling<T>(pid: number, projectRoot: string, work: () => Promise<T>): Promise<{ result: T; fds: FdSummary; ms: number }> {
  const sampler = new FdSampler(pid, projectRoot).start();
  const t0 = nowMs();
  try {
    const result = await work();
    return { result, fds: await sampler.stop(), ms: nowMs() - t0 };
  } finally {
    await sampler.stop();
  }
}

/** The server's descriptors by kind (`socket`, `pipe`, `anon_inode:[eventfd]`, `file`…), for the report. */
export async function describeFds(pid: number): Promise<string> {
  const dir = `/proc/${pid}/fd`;
  const entries = await readdir(dir).catch(() => [] as string[]);
  const links = await Promise.all(entries.map((e) => readlink(`${dir}/${e}`).catch(() => '?')));
  const kinds = new Map<string, number>();
  for (const l of links) {
    const kind = l.startsWith('/') ? 'file' : l.replace(/:\[?\d+\]?$/, '').replace(/^anon_inode:/, '');
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
}
