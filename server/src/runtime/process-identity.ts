/**
 * This process's identity as other processes sharing the state dir see it: the host name
 * and a liveness check by pid. Used by session leases (`state/`) and store ownership
 * (`vector/`), so it lives below both.
 */
import { hostname } from 'node:os';

export const HOST = hostname();

/** True when `pid` names a live process on this host (EPERM means alive but not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
