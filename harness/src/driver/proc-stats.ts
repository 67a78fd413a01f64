import { readdir, readFile } from 'node:fs/promises';

/**
 * Reads a process's open descriptors and resident memory from /proc (Linux). Returns
 * null figures elsewhere or when the process is gone, so probes can say "not measured"
 * instead of failing.
 */
export async function sampleProcess(pid: number): Promise<{ openFds: number | null; rssBytes: number | null }> {
  if (!pid) return { openFds: null, rssBytes: null };
  const [openFds, rssBytes] = await Promise.all([
    readdir(`/proc/${pid}/fd`).then((entries) => entries.length, () => null),
    readFile(`/proc/${pid}/status`, 'utf8').then(
      (text) => {
        const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(text)?.[1];
        return kb ? Number(kb) * 1024 : null;
      },
      () => null,
    ),
  ]);
  return { openFds, rssBytes };
}
