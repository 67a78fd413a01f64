/**
 * One session, one chain, across processes (KI-15). Server processes that share a state
 * dir serialise the turns of a session through a lease row in SQLite: the holder renews it
 * while its turn runs and deletes it when done; a waiter polls (an abortable sleep) until
 * the row is gone, has lapsed, or names a process that no longer runs on this host. A
 * crashed holder therefore blocks nobody for longer than the TTL, and on the same host not
 * at all.
 *
 * Hand-written: SQLite has no advisory locks, and node:sqlite is synchronous, so waiting
 * must never happen inside SQLite (busy_timeout) but in an async sleep that honours the
 * call's signal.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULTS } from '../config/defaults.ts';
import { abortReasonToError, throwIfAborted } from '../errors.ts';
import { logger } from '../logging/logger.ts';
import { HOST, pidAlive } from '../runtime/process-identity.ts';
import { registerSchema, type Db } from './db.ts';

/** The lease table's DDL, kept in one place. */
export const SESSION_LEASES_DDL = `
CREATE TABLE IF NOT EXISTS session_leases (
  lease_key TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  expires_ms INTEGER NOT NULL
);`;
registerSchema('session_leases', SESSION_LEASES_DDL);

export interface SessionLeaseOptions {
  /** Default DEFAULTS.SESSION_LEASE_TTL_MS (30 s). */
  ttlMs?: number;
  /** Default DEFAULTS.SESSION_LEASE_RENEW_MS (10 s). */
  renewMs?: number;
  /** Default DEFAULTS.SESSION_LEASE_POLL_MS (25 ms). */
  pollMs?: number;
}

export class SessionLeases {
  readonly #db: Db;
  readonly #ttlMs: number;
  readonly #renewMs: number;
  readonly #pollMs: number;
  #waits = 0;

  constructor(db: Db, options: SessionLeaseOptions = {}) {
    this.#db = db;
    this.#ttlMs = options.ttlMs ?? DEFAULTS.SESSION_LEASE_TTL_MS;
    this.#renewMs = options.renewMs ?? DEFAULTS.SESSION_LEASE_RENEW_MS;
    this.#pollMs = options.pollMs ?? DEFAULTS.SESSION_LEASE_POLL_MS;
  }

  /** Polls that found the lease held by another process (diagnostics). */
  get contendedPolls(): number { return this.#waits; }

  /**
   * Waits (abortably) until this process holds `key`'s lease; returns its release. The
   * lease is renewed every `renewMs` until released.
   * @throws SbError SB_ERR_CANCELLED / SB_ERR_DEADLINE_EXCEEDED when `signal` fires first.
   */
  async acquire(key: string, signal: AbortSignal): Promise<() => void> {
    const holder = `${process.pid}-${randomUUID()}`;
    for (;;) {
      throwIfAborted(signal);
      if (this.#tryTake(key, holder)) break;
      this.#waits++;
      try {
        await sleep(this.#pollMs, undefined, { signal });
      } catch {
        throw abortReasonToError(signal.reason);
      }
    }
    const renew = setInterval(() => {
      try {
        const r = this.#db.prepare('UPDATE session_leases SET expires_ms = ? WHERE lease_key = ? AND holder = ?').run(Date.now() + this.#ttlMs, key, holder);
        if (Number(r.changes) === 0) logger().warn({ component: 'sessions', session: key }, 'session lease lost before the turn ended (held past its TTL without renewal)');
      } catch {
        // SQLITE_BUSY: the next renewal tries again, well within the TTL.
      }
    }, this.#renewMs);
    renew.unref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      clearInterval(renew);
      this.#release(key, holder, 0);
    };
  }

  /** One atomic statement: take the row if free, lapsed, or held by a dead process on this host. */
  #tryTake(key: string, holder: string): boolean {
    const now = Date.now();
    try {
      const row = this.#db.prepare('SELECT holder, pid, host, expires_ms FROM session_leases WHERE lease_key = ?').get(key) as
        { holder: string; pid: number; host: string; expires_ms: number } | undefined;
      const dead = row !== undefined && row.host === HOST && !pidAlive(row.pid);
      const r = this.#db.prepare(`INSERT INTO session_leases (lease_key, holder, pid, host, expires_ms) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(lease_key) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host, expires_ms = excluded.expires_ms
        WHERE session_leases.expires_ms <= ? OR session_leases.holder = ?`)
        .run(key, holder, process.pid, HOST, now + this.#ttlMs, now, dead ? row.holder : holder);
      return Number(r.changes) > 0;
    } catch (err) {
      if (isBusy(err)) return false;
      throw err;
    }
  }

  #release(key: string, holder: string, attempt: number): void {
    try {
      this.#db.prepare('DELETE FROM session_leases WHERE lease_key = ? AND holder = ?').run(key, holder);
    } catch (err) {
      // Busy or closed: retry a few times off the caller's path; past that the TTL frees it.
      if (attempt < 5 && isBusy(err)) setTimeout(() => this.#release(key, holder, attempt + 1), 20 * (attempt + 1)).unref();
    }
  }
}

function isBusy(err: unknown): boolean {
  const e = err as { errcode?: number; message?: string };
  return e?.errcode === 5 || e?.errcode === 6 || /SQLITE_BUSY|database is locked/i.test(String(e?.message));
}
