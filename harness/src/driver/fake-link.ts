import { applyAccountChange, type AccountChange, type FakeApi, type FaultRule, type JournalEntry, type StateSnapshot } from '../fake/index.ts';
import { nowMs, sleep } from './clock.ts';

/**
 * The driver's view of the fake API, whichever process it lives in: inside the server
 * (the preload, steered over its control port) or in the harness (loopback, steered
 * directly). Both keep a local mirror of the journal, so a probe can still read it after
 * the server that hosted the fake was killed.
 */

/** A journal entry as mirrored by the driver: `fakeGeneration` tells apart the fakes of successive in-process servers. */
export type MirroredEntry = JournalEntry & { fakeGeneration: number };

export interface FakeLink {
  readonly kind: 'in-process' | 'loopback';
  /** Every entry seen so far, oldest first, across fake generations. */
  journal(): Promise<MirroredEntry[]>;
  /** The last mirrored copy, without asking the fake (for after a kill). */
  journalSnapshot(): MirroredEntry[];
  /**
   * Resolves with the first entry matching `predicate`, checking as the fake reports
   * (events in loopback; a short poll in-process). Rejects after `timeoutMs` or on abort.
   */
  waitFor(predicate: (entry: JournalEntry) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<MirroredEntry>;
  addFaults(rules: FaultRule[], replace?: boolean): Promise<void>;
  clearFaults(): Promise<void>;
  account(change: AccountChange): Promise<{ windows: Array<{ startMs: number; endMs: number; mode: string }> }>;
  state(): Promise<StateSnapshot>;
  close(): Promise<void>;
}

/** How often an in-process link polls while something waits on the journal. */
const FAST_POLL_MS = 5;

class Mirror {
  readonly #entries = new Map<string, MirroredEntry>();
  merge(entries: JournalEntry[], generation: number): void {
    for (const e of entries) this.#entries.set(`${generation}:${e.id}`, { ...e, fakeGeneration: generation });
  }
  list(): MirroredEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.startWallMs - b.startWallMs || a.id - b.id);
  }
  /** The id to poll from: entries from the oldest still-open one of this generation onward change. */
  since(generation: number): number {
    let lastId = 0;
    let firstOpen = Number.POSITIVE_INFINITY;
    for (const e of this.#entries.values()) {
      if (e.fakeGeneration !== generation) continue;
      lastId = Math.max(lastId, e.id);
      if (e.endMs === null) firstOpen = Math.min(firstOpen, e.id);
    }
    return Math.min(lastId, firstOpen - 1);
  }
}

async function controlJson<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, { ...init, signal: init?.signal ?? AbortSignal.timeout(5_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`Fake control ${init?.method ?? 'GET'} ${url} failed: ${response.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/**
 * Steers a fake over its HTTP control API: the preload's control server
 * (`http://127.0.0.1:PORT`) or the loopback server's `/_control` prefix.
 */
export class HttpFakeLink implements FakeLink {
  readonly kind: 'in-process' | 'loopback';
  #base = '';
  #generation = -1;
  readonly #mirror = new Mirror();
  #reachable = false;

  constructor(kind: 'in-process' | 'loopback' = 'in-process', base?: string) {
    this.kind = kind;
    if (base) this.connect(base);
  }

  /**
   * Points the link at a fake's control root. Called again after a restart (an
   * in-process fake is born again with its server); the mirror keeps the old entries.
   */
  connect(base: string): void {
    this.#base = base.replace(/\/+$/, '');
    this.#generation += 1;
    this.#reachable = true;
  }

  /** Fetches the journal one last time and stops asking (its server is about to be killed). */
  async detach(): Promise<void> {
    await this.journal().catch(() => {});
    this.#reachable = false;
  }

  async journal(): Promise<MirroredEntry[]> {
    if (this.#reachable) {
      const since = this.#mirror.since(this.#generation);
      const { entries } = await controlJson<{ entries: JournalEntry[] }>(`${this.#base}/journal?since=${since}`);
      this.#mirror.merge(entries, this.#generation);
    }
    return this.#mirror.list();
  }

  journalSnapshot(): MirroredEntry[] {
    return this.#mirror.list();
  }

  async waitFor(predicate: (entry: JournalEntry) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<MirroredEntry> {
    const deadline = nowMs() + timeoutMs;
    const generation = this.#generation;
    for (;;) {
      signal?.throwIfAborted();
      const entries = await this.journal().catch(() => this.#mirror.list());
      const hit = entries.find((e) => e.fakeGeneration === generation && predicate(e));
      if (hit) return hit;
      if (nowMs() > deadline) throw new Error(`No journal entry matched within ${timeoutMs} ms`);
      await sleep(FAST_POLL_MS, signal);
    }
  }

  async addFaults(rules: FaultRule[], replace = false): Promise<void> {
    await controlJson(`${this.#base}/faults`, { method: 'POST', body: JSON.stringify({ rules, replace }), headers: { 'content-type': 'application/json' } });
  }

  async clearFaults(): Promise<void> {
    await controlJson(`${this.#base}/faults`, { method: 'DELETE' });
  }

  async account(change: AccountChange): Promise<{ windows: Array<{ startMs: number; endMs: number; mode: string }> }> {
    return controlJson(`${this.#base}/account`, { method: 'POST', body: JSON.stringify(change), headers: { 'content-type': 'application/json' } });
  }

  async state(): Promise<StateSnapshot> {
    return controlJson<StateSnapshot>(`${this.#base}/state`);
  }

  async close(): Promise<void> {
    await this.journal().catch(() => {});
    this.#reachable = false;
  }
}

/**
 * Steers a fake that lives in this process (loopback mode): journal events arrive as
 * they happen, so a trigger such as "the third upload started" fires within the same
 * tick as the request reached the fake.
 */
export class DirectFakeLink implements FakeLink {
  readonly kind = 'loopback' as const;
  readonly fake: FakeApi;
  readonly #onClose: () => Promise<void>;
  readonly #mirror = new Mirror();
  /** Offset from the fake's monotonic clock to wall time, so windows line up with the journal's wall times. */
  readonly #monoToWall: number;

  constructor(fake: FakeApi, onClose: () => Promise<void> = async () => {}) {
    this.fake = fake;
    this.#onClose = onClose;
    this.#monoToWall = fake.clock.wallMs() - fake.clock.nowMs();
  }

  async journal(): Promise<MirroredEntry[]> {
    this.#mirror.merge(this.fake.journal.entries(), 0);
    return this.#mirror.list();
  }

  journalSnapshot(): MirroredEntry[] {
    this.#mirror.merge(this.fake.journal.entries(), 0);
    return this.#mirror.list();
  }

  async waitFor(predicate: (entry: JournalEntry) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<MirroredEntry> {
    const entry = await this.fake.journal.waitFor((e) => predicate(e), timeoutMs, signal);
    return { ...entry, fakeGeneration: 0 };
  }

  async addFaults(rules: FaultRule[], replace = false): Promise<void> {
    if (replace) this.fake.faults.clear();
    this.fake.faults.addAll(rules);
  }

  async clearFaults(): Promise<void> {
    this.fake.faults.clear();
  }

  async account(change: AccountChange): Promise<{ windows: Array<{ startMs: number; endMs: number; mode: string }> }> {
    const account = this.fake.account;
    applyAccountChange(account, change);
    return { windows: account.windows().map((w) => ({ ...w, startMs: w.startMs + this.#monoToWall, endMs: w.endMs + this.#monoToWall })) };
  }

  async state(): Promise<StateSnapshot> {
    return this.fake.state.snapshot();
  }

  async close(): Promise<void> {
    this.#mirror.merge(this.fake.journal.entries(), 0);
    await this.#onClose();
  }
}
