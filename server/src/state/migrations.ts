/**
 * The state database's schema versions, in order. The file's `PRAGMA user_version` says
 * which have been applied; `openDatabase` applies the rest, each in a transaction.
 *
 * Adding a change: append `{ version: <last + 1>, name, up }` at the end. Never edit or
 * reorder a released entry: state dirs in the field have already applied it. `up` runs
 * synchronously inside the migration's transaction (no awaits).
 *
 * Version 0 is a state dir from before versioning: the tables each module registers with
 * `registerSchema` (sessions, session turns, jobs, rate limits, vector-store bookkeeping,
 * sent files, project memory) with no version stamp. Those tables are created on every open,
 * so version 1 only stamps the baseline.
 */
import type { DatabaseSync } from 'node:sqlite';

export interface Migration {
  /** 1, 2, 3, … with no gaps. */
  version: number;
  /** What it changes, for people reading the list. */
  name: string;
  up(db: DatabaseSync): void;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'baseline: the registered module tables as they were before versioning', up: () => {} },
];
