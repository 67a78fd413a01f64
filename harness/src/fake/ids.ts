import { createHash } from 'node:crypto';

/**
 * Deterministic, provider-looking ids: the same seed and creation order give the same
 * ids, which keeps journals and snapshots comparable across runs.
 */
export interface IdFactory {
  next(prefix: IdPrefix): string;
}

/** Prefixes the real APIs use. */
export type IdPrefix = 'resp_' | 'msg_' | 'fs_' | 'fc_' | 'call_' | 'file-' | 'vs_' | 'vsfb_' | 'chatcmpl-' | 'req_';

const ID_HEX_LENGTH: Record<IdPrefix, number> = {
  'resp_': 48,
  'msg_': 48,
  'fs_': 48,
  'fc_': 48,
  'call_': 24,
  'file-': 22,
  'vs_': 24,
  'vsfb_': 32,
  'chatcmpl-': 29,
  'req_': 32,
};

export function createIdFactory(seed: number): IdFactory {
  const counters = new Map<string, number>();
  return {
    next(prefix) {
      const n = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, n);
      const digest = createHash('sha256').update(`${seed}:${prefix}:${n}`).digest('hex');
      return prefix + digest.slice(0, ID_HEX_LENGTH[prefix]);
    },
  };
}
