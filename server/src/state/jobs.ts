/**
 * Jobs in SQLite, for clients whose tool timeout is shorter than a model's answer.
 * A background response id is stored before polling starts, so a restarted server resumes
 * polling instead of losing the answer (KI-06).
 */
import { randomUUID } from 'node:crypto';
import { registerSchema, type Db } from './db.ts';
import { redactString } from '../logging/redact.ts';

registerSchema('jobs', `
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  tool TEXT NOT NULL,
  args_json TEXT NOT NULL,
  status TEXT NOT NULL,
  result_json TEXT,
  error TEXT,
  error_code TEXT,
  response_id TEXT,
  owner_pid INTEGER,
  owner_instance TEXT,
  progress TEXT,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);`);

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobRow {
  id: string;
  tool: string;
  args: Record<string, unknown>;
  status: JobStatus;
  result?: unknown;
  error?: string;
  error_code?: string;
  response_id?: string;
  owner_instance?: string;
  progress?: string;
  created_ms: number;
  updated_ms: number;
}

export class JobStore {
  readonly #db: Db;
  readonly #instance: string;
  constructor(db: Db, instanceId: string) { this.#db = db; this.#instance = instanceId; }

  create(tool: string, args: Record<string, unknown>, now = Date.now()): JobRow {
    const id = `job_${randomUUID()}`;
    this.#db.prepare('INSERT INTO jobs (id, tool, args_json, status, owner_pid, owner_instance, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, tool, JSON.stringify(args), 'running', process.pid, this.#instance, now, now);
    return this.get(id)!;
  }

  get(id: string): JobRow | undefined {
    const r = this.#db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Record<string, any> | undefined;
    if (!r) return undefined;
    return {
      id: r.id, tool: r.tool, args: JSON.parse(r.args_json), status: r.status,
      ...(r.result_json ? { result: JSON.parse(r.result_json) } : {}),
      ...(r.error ? { error: r.error } : {}),
      ...(r.error_code ? { error_code: r.error_code } : {}),
      ...(r.response_id ? { response_id: r.response_id } : {}),
      ...(r.owner_instance ? { owner_instance: r.owner_instance } : {}),
      ...(r.progress ? { progress: r.progress } : {}),
      created_ms: r.created_ms, updated_ms: r.updated_ms,
    };
  }

  setResponseId(id: string, responseId: string): void {
    this.#db.prepare('UPDATE jobs SET response_id = ?, updated_ms = ? WHERE id = ?').run(responseId, Date.now(), id);
  }

  setProgress(id: string, progress: string): void {
    this.#db.prepare('UPDATE jobs SET progress = ?, updated_ms = ? WHERE id = ?').run(redactString(progress.slice(0, 500)), Date.now(), id);
  }

  /** Takes over a job left by another (dead or restarted) instance; returns false if someone else already did. */
  claim(id: string): boolean {
    const r = this.#db.prepare("UPDATE jobs SET owner_pid = ?, owner_instance = ?, updated_ms = ? WHERE id = ? AND status = 'running' AND (owner_instance IS NULL OR owner_instance <> ?)")
      .run(process.pid, this.#instance, Date.now(), id, this.#instance);
    return Number(r.changes) > 0;
  }

  finish(id: string, status: Exclude<JobStatus, 'queued' | 'running'>, result?: unknown, error?: { message: string; code?: string }): void {
    this.#db.prepare("UPDATE jobs SET status = ?, result_json = ?, error = ?, error_code = ?, updated_ms = ? WHERE id = ? AND status = 'running'")
      // The row outlives the call: no API key or key-shaped string is stored in it.
      .run(status, result === undefined ? null : redactString(JSON.stringify(result)), error ? redactString(error.message) : null, error?.code ?? null, Date.now(), id);
  }

  /** Deletes finished jobs older than `retentionMs`. */
  prune(retentionMs: number, now = Date.now()): number {
    const r = this.#db.prepare("DELETE FROM jobs WHERE status IN ('completed','failed','cancelled') AND updated_ms < ?").run(now - retentionMs);
    return Number(r.changes);
  }
}
