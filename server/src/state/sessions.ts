/**
 * Session state in SQLite: the last response id (OpenAI chains) and the message history
 * (Chat Completions providers), per (session, model). Survives restarts (KI-15).
 */
import { addAbortListener } from 'node:events';
import { registerSchema, transactionSync, type Db } from './db.ts';
import type { ChatMessage } from '../providers/types.ts';
import type { SessionLeases } from './session-leases.ts';
import { DEFAULTS } from '../config/defaults.ts';

registerSchema('sessions', `
CREATE TABLE IF NOT EXISTS sessions (
  session_id TEXT NOT NULL,
  model TEXT NOT NULL,
  last_response_id TEXT,
  turns INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, model)
);
CREATE TABLE IF NOT EXISTS session_turns (
  session_id TEXT NOT NULL,
  model TEXT NOT NULL,
  turn INTEGER NOT NULL,
  question TEXT NOT NULL,
  answer TEXT NOT NULL,
  response_id TEXT,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (session_id, model, turn)
);`);

export interface SessionInfo {
  session_id: string;
  model: string;
  turns: number;
  last_response_id?: string;
  created_at: string;
  updated_at: string;
}

const HISTORY_TURNS = DEFAULTS.SESSION_HISTORY_TURNS;

export class SessionStore {
  readonly #db: Db;
  constructor(db: Db) { this.#db = db; }

  get(sessionId: string, model: string): SessionInfo | undefined {
    const r = this.#db.prepare('SELECT * FROM sessions WHERE session_id = ? AND model = ?').get(sessionId, model) as Record<string, any> | undefined;
    return r ? toInfo(r) : undefined;
  }

  history(sessionId: string, model: string): ChatMessage[] {
    const rows = this.#db.prepare('SELECT question, answer FROM session_turns WHERE session_id = ? AND model = ? ORDER BY turn DESC LIMIT ?')
      .all(sessionId, model, HISTORY_TURNS) as Array<{ question: string; answer: string }>;
    return rows.reverse().flatMap((r) => [{ role: 'user' as const, content: r.question }, { role: 'assistant' as const, content: r.answer }]);
  }

  /** Records one answered turn atomically: the turn row and the session's new last response id. */
  recordTurn(sessionId: string, model: string, question: string, answer: string, responseId: string | undefined, now = Date.now()): number {
    // transactionSync, not a hand-rolled BEGIN/ROLLBACK: on a full disk SQLite ends the
    // transaction itself, and a second ROLLBACK would hide the cause behind "cannot rollback".
    return transactionSync(this.#db, () => {
      this.#db.prepare(`INSERT INTO sessions (session_id, model, last_response_id, turns, created_ms, updated_ms) VALUES (?, ?, ?, 1, ?, ?)
        ON CONFLICT(session_id, model) DO UPDATE SET last_response_id = excluded.last_response_id, turns = turns + 1, updated_ms = excluded.updated_ms`)
        .run(sessionId, model, responseId ?? null, now, now);
      const { turns } = this.#db.prepare('SELECT turns FROM sessions WHERE session_id = ? AND model = ?').get(sessionId, model) as { turns: number };
      this.#db.prepare('INSERT OR REPLACE INTO session_turns (session_id, model, turn, question, answer, response_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(sessionId, model, turns, question, answer, responseId ?? null, now);
      return turns;
    });
  }

  /** Forgets the previous response id (the provider no longer knows it), keeping the turns. */
  resetChain(sessionId: string, model: string): void {
    this.#db.prepare('UPDATE sessions SET last_response_id = NULL WHERE session_id = ? AND model = ?').run(sessionId, model);
  }

  list(limit = 50): SessionInfo[] {
    const rows = this.#db.prepare('SELECT * FROM sessions ORDER BY updated_ms DESC LIMIT ?').all(limit) as Array<Record<string, any>>;
    return rows.map(toInfo);
  }
}

function toInfo(r: Record<string, any>): SessionInfo {
  return {
    session_id: r.session_id,
    model: r.model,
    turns: r.turns,
    ...(r.last_response_id ? { last_response_id: r.last_response_id } : {}),
    created_at: new Date(r.created_ms).toISOString(),
    updated_at: new Date(r.updated_ms).toISOString(),
  };
}

/**
 * What the call flow needs of a session lock: SessionLocks in production; the seam where
 * a test defect (KI-15) puts a lock that does nothing or never gives a slot back
 * (defects/session-locks.ts).
 */
export interface SessionLock {
  /** Waits for the earlier calls of `key`; resolves with the release. */
  acquire(key: string, signal: AbortSignal): Promise<() => void>;
  /** Sessions with a call holding or waiting for their slot. */
  readonly held: number;
}

/**
 * Serialises calls within one session (KI-15: two concurrent follow-ups must not both
 * chain from the same previous response). Hand-written because it is a per-key promise
 * chain of a few lines; the wait honours the caller's signal. With `leases`, a turn also
 * holds the session's lease in the state database, so processes sharing a state dir
 * serialise too (the in-process queue keeps local waiters in order and off SQLite).
 */
export class SessionLocks implements SessionLock {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #leases: SessionLeases | undefined;

  constructor(leases?: SessionLeases) { this.#leases = leases; }

  async acquire(key: string, signal: AbortSignal): Promise<() => void> {
    const prev = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    const tail = prev.then(() => mine);
    this.#tails.set(key, tail);
    const done = () => {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
    if (signal.aborted) { done(); throw signal.reason; }
    let detach: Disposable | undefined;
    try {
      await Promise.race([prev, new Promise<never>((_, reject) => {
        detach = addAbortListener(signal, () => reject(signal.reason));
      })]);
    } catch (err) {
      // Our slot still has to pass in order; release it once the predecessor ends.
      prev.then(done, done);
      throw err;
    } finally {
      detach?.[Symbol.dispose]();
    }
    if (!this.#leases) return done;
    let releaseLease: () => void;
    try {
      releaseLease = await this.#leases.acquire(key, signal);
    } catch (err) {
      done();
      throw err;
    }
    return () => {
      releaseLease();
      done();
    };
  }

  get held(): number { return this.#tails.size; }
}
