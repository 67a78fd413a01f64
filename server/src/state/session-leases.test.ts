import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeLatency } from '../../../harness/src/reference/latency-test.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from './db.ts';
import { HOST } from '../runtime/process-identity.ts';
import { SessionLeases } from './session-leases.ts';
import { patience } from '@second-brain/harness';

const DEAD_PID = 4_194_304 + 1515;
const tempDb = () => openDatabase(join(mkdtempSync(join(tmpdir(), 'sb-leases-')), 'state.sqlite'));
const seed = (db: ReturnType<typeof tempDb>, host: string, pid: number, expiresMs: number) =>
  db.prepare('INSERT INTO session_leases (lease_key, holder, pid, host, expires_ms) VALUES (?, ?, ?, ?, ?)').run('k', 'crashed', pid, host, expiresMs);

test('KI-15: a lease held by a live process elsewhere is waited for until it lapses, and renewed while held', { timeout: patience(5_000) }, async () => {
  const db = tempDb();
  seed(db, 'another-host', 1, Date.now() + 300);
  const leases = new SessionLeases(db, { ttlMs: 200, renewMs: 50, pollMs: 10 });
  const t0 = performance.now();
  const release = await leases.acquire('k', AbortSignal.timeout(patience(3_000)));
  const waited = performance.now() - t0;
  assert.ok(waited >= 250, `waited ${Math.round(waited)} ms for the crashed holder's lease to lapse`);
  // Held past its TTL: renewal keeps it, so another waiter times out instead of taking it.
  const other = new SessionLeases(db, { ttlMs: 200, pollMs: 10 });
  await assert.rejects(other.acquire('k', AbortSignal.timeout(400)), (e: any) => e.code === 'SB_ERR_DEADLINE_EXCEEDED');
  release();
  const r2 = await other.acquire('k', AbortSignal.timeout(500));
  r2();
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM session_leases').get() as { n: number }).n, 0);
});

test('KI-15: a lease of a dead process on this host is taken over at once', { timeout: patience(30_000) }, async (t) => {
  // "At once": 200 ms against a lease of 60 s, held for the excess over a reference process measuring the machine.
  await judgeLatency(t, { label: 'dead holder\'s lease taken over', boundMs: 200, compareWith: 'own-loop' }, async () => {
    const db = tempDb();
    seed(db, HOST, DEAD_PID, Date.now() + 60_000);
    const leases = new SessionLeases(db, { pollMs: 10 });
    const t0 = performance.now();
    const release = await leases.acquire('k', AbortSignal.timeout(1_000));
    const took = performance.now() - t0;
    release();
    return took;
  });
});
