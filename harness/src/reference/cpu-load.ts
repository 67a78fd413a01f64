import { spawn } from 'node:child_process';

/**
 * A CPU-burning load beside a measurement: `burners` `node -e` busy loops, each ending
 * by itself after `maxMs` (so a killed parent never leaves them behind for long), all
 * killed by `stop()`. Stands in for the other jobs of a shared CI runner.
 */

/** Default number of busy loops: one per core of the two-core target machine. */
export const DEFAULT_LOAD_BURNERS = 2;

export interface CpuLoad {
  pids: number[];
  stop(): void;
}

export function startCpuLoad(options: { burners?: number; maxMs: number }): CpuLoad {
  const burn = `const end = Date.now() + ${Math.round(options.maxMs)}; while (Date.now() < end) { for (let i = 0; i < 1e6; i++); }`;
  const children = Array.from({ length: options.burners ?? DEFAULT_LOAD_BURNERS }, () => spawn(process.execPath, ['-e', burn], { stdio: 'ignore' }));
  return {
    pids: children.map((c) => c.pid ?? -1),
    stop: () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    },
  };
}
