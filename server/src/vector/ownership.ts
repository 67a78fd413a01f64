/**
 * Who owns a provider-side store. Metadata alone is not proof: another copy of this
 * server, with another state dir, writes the same `owner`. A store is ours when this
 * state dir recorded it, or when its metadata names an instance recorded here (KI-13:
 * never delete a store another owner made).
 */
import { HOST, pidAlive } from '../runtime/process-identity.ts';
import type { InstanceRow } from './state.ts';
import { DEFAULTS } from '../config/defaults.ts';

export const OWNER = 'second-brain';
export const KIND_SESSION = 'session';
export const KIND_MEMORY = 'memory';

export function sessionStoreMetadata(instanceId: string, sessionId: string): Record<string, string> {
  // Metadata values are capped at 512 characters by the provider.
  return { owner: OWNER, kind: KIND_SESSION, instance: instanceId, session: sessionId.slice(0, 512) };
}

export { HOST } from '../runtime/process-identity.ts';

/**
 * An instance is gone when its process no longer runs on this host, or (for another
 * host, where the pid cannot be checked) when it has not been seen for `staleMs`.
 */
export function instanceGone(row: InstanceRow, now: number, staleMs: number, selfId: string): boolean {
  if (row.instance_id === selfId) return false;
  if (row.host === HOST) return !pidAlive(row.pid);
  return now - row.last_seen_at > staleMs;
}

export interface ProviderStoreLike {
  id: string;
  metadata: Record<string, string> | null;
  status?: string;
  created_at: number;
  last_active_at?: number | null;
}

export type Ownership = 'ours' | 'foreign';

export function ownershipOf(store: ProviderStoreLike, knownStoreIds: Set<string>, knownInstances: Set<string>): Ownership {
  const md = store.metadata ?? {};
  if (md.owner !== OWNER) return 'foreign';
  if (knownStoreIds.has(store.id)) return 'ours';
  return md.instance !== undefined && knownInstances.has(md.instance) ? 'ours' : 'foreign';
}

export const INSTANCE_STALE_MS = DEFAULTS.INSTANCE_STALE_MS;

/**
 * Ids of instances that are gone (see instanceGone). A claim or lease such an instance
 * holds is worth nothing: a process killed with SIGKILL never releases them, and waiting
 * out their lease would stall the next call on the same files for a minute (KI-13).
 */
export function goneInstances(rows: readonly InstanceRow[], now: number, selfId: string): Set<string> {
  return new Set(rows.filter((r) => instanceGone(r, now, INSTANCE_STALE_MS, selfId)).map((r) => r.instance_id));
}
