/**
 * Fixtures for the vector-store tests: the shared fake OpenAI API (harness) installed
 * with msw, temp state databases, temp project files, and journal arithmetic. Not part
 * of the public entry point.
 */
import OpenAI from 'openai';
import { setupServer, type SetupServer } from 'msw/node';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createFakeApi, type FakeApi, type FakeApiOptions, type JournalEntry, type RouteId } from '@second-brain/harness';
import { openDatabase, type Db } from '../../src/state/db.ts';
import { createLogger, setLogger } from '../../src/logging/logger.ts';
import type { AttachFile } from '../../src/vector/types.ts';
import '../../src/vector/schema.ts';

// Tests print only warnings unless asked for more.
setLogger(createLogger({ level: process.env.SECOND_BRAIN_LOG_LEVEL ?? 'warn' }));

export interface FakeHandle {
  fake: FakeApi;
  server: SetupServer;
  /** A new SDK client (maxRetries: 0) pointing at the fake; create after listen. */
  client(apiKey?: string): OpenAI;
  close(): void;
}

export function startFake(options: FakeApiOptions = {}): FakeHandle {
  const fake = createFakeApi(options);
  const server = setupServer(...fake.handlers);
  server.listen({ onUnhandledFrame: 'bypass' });
  return {
    fake,
    server,
    client: (apiKey = 'sk-test-vector') => new OpenAI({ apiKey, baseURL: fake.baseUrls.openai, maxRetries: 0 }),
    close: () => server.close(),
  };
}

export interface TempState { dir: string; dbPath: string; db: Db; open(): Db; cleanup(): void }

export function tempState(): TempState {
  const dir = mkdtempSync(join(tmpdir(), 'sb-vector-'));
  const dbPath = join(dir, 'state.db');
  const opened: Db[] = [];
  const open = () => {
    const db = openDatabase(dbPath);
    opened.push(db);
    return db;
  };
  const db = open();
  return {
    dir, dbPath, db, open,
    cleanup() {
      for (const d of opened) { try { d.close(); } catch { /* already closed */ } }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes files under `root` and returns them as attach inputs (no sha, no text: read from disk). */
export function writeProjectFiles(root: string, contents: Record<string, string>): AttachFile[] {
  return Object.entries(contents).map(([rel, text]) => {
    const abs = join(root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    const st = statSync(abs);
    return { absPath: abs, relPath: rel, size: st.size, mtimeMs: st.mtimeMs };
  });
}

/** `n` files named src/fNNN.ts with distinct content. */
export function manyFiles(root: string, n: number, salt = ''): AttachFile[] {
  const contents: Record<string, string> = {};
  for (let i = 0; i < n; i++) contents[`src/f${String(i).padStart(3, '0')}.ts`] = `export const v${i} = ${JSON.stringify(salt)}; // file ${i}\n`;
  return writeProjectFiles(root, contents);
}

export function entriesOf(fake: FakeApi, route: RouteId, since = 0): JournalEntry[] {
  return fake.journal.entries().filter((e) => e.route === route && e.id > since);
}

/** Most requests of `route` open at the same moment, from the journal's start/end times. */
export function maxConcurrent(entries: JournalEntry[]): number {
  const events: Array<[number, number]> = [];
  for (const e of entries) {
    events.push([e.startMs, 1]);
    events.push([e.endMs ?? e.respondedMs ?? Number.POSITIVE_INFINITY, -1]);
  }
  // Ends sort before starts at the same instant: back-to-back is not overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of events) { open += d; max = Math.max(max, open); }
  return max;
}

/** Limits that keep tests fast: short polls and backoffs. */
export const FAST_LIMITS = {
  batchPollIntervalMs: 10,
  claimPollIntervalMs: 10,
  retryBaseDelayMs: 10,
  retryMaxDelayMs: 50,
  cleanupRequestTimeoutMs: 1_000,
  storeEvictMinIdleMs: 0,
} as const;
