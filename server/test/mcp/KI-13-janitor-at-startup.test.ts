// KI-13: a process killed with SIGKILL mid-upload leaves a half-made store and uploaded
// files. The restarted server's janitor runs a few seconds after start-up (off the request
// path), not only after its first 10-minute interval, so the debris is gone within a minute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, withTransaction } from '../../src/state/db.ts';
import { HOST } from '../../src/vector/ownership.ts';
import { VectorState } from '../../src/vector/state.ts';
import { startFake } from '../support/vector-fixtures.ts';
import { startRig } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

/** A pid no process has: above Linux's pid_max. */
const DEAD_PID = 4_194_304 + 1313;

test('KI-13: the janitor runs soon after start-up and clears a killed process’s store and files', { timeout: patience(30_000) }, async () => {
  const f = startFake();
  const home = mkdtempSync(join(tmpdir(), 'sb-janitor-start-'));
  const fake = f.fake;
  const store = fake.seed.vectorStore({ metadata: { owner: 'second-brain', kind: 'session', instance: 'killed', session: 's1' } });
  const file = fake.seed.file({ filename: 'a.ts', content: 'uploaded before the kill' });
  const db = openDatabase(join(home, 'state.sqlite'));
  const now = Date.now();
  const s = new VectorState(db);
  await withTransaction(db, () => {
    s.upsertInstance('killed', DEAD_PID, HOST, now - 1_000);
    s.insertStore({ store_id: store.id, kind: 'session', scope: 's1', instance_id: 'killed', created_at: now - 1_000, last_used_at: now - 1_000 });
    s.claimFile('sha-a', 'a.ts', 'killed', 10, now, 60_000);
    s.markFileReady('sha-a', 'a.ts', 'killed', file.id);
    s.putStoreFile(store.id, 'a.ts', 'sha-a', file.id, null, 'pending', now);
  });
  db.close();

  // Time scale 0.1: the interval is 60 s, the start-up pass 0.5 s after start.
  const started = Date.now();
  const rig = await startRig({ home, sharedFake: { fake, msw: f.server }, env: { SECOND_BRAIN_TIME_SCALE: '0.1' } });
  try {
    while (Date.now() - started < 10_000 && (fake.state.vectorStores.has(store.id) || fake.state.files.has(file.id))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const tookMs = Date.now() - started;
    assert.ok(!fake.state.vectorStores.has(store.id), 'the killed process’s store was deleted');
    assert.ok(!fake.state.files.has(file.id), 'and its uploaded file');
    assert.ok(tookMs < 5_000, `cleared ${tookMs} ms after start (interval 60 s)`);
  } finally {
    await rig.close();
  }
});
