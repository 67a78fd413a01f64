import { readFile } from 'node:fs/promises';

/**
 * Resident memory of a process from /proc/PID/status (Linux): the current resident set
 * (VmRSS) and its peak over the process's life (VmHWM), in bytes. Null elsewhere or when
 * the process is gone.
 */
export async function memoryOf(pid: number): Promise<{ rssBytes: number | null; peakBytes: number | null }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : null;
  };
  return { rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
}
