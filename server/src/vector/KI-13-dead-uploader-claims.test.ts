/**
 * KI-13: a server killed with SIGKILL halfway through an upload leaves upload claims and
 * a store-creation lease with a minute of lease left. The restarted server must take
 * them over at once instead of waiting for the lease (or for the janitor's next run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeLatency } from '../../../harness/src/reference/latency-test.ts';
import { withTransaction } from '../state/db.ts';
import { VectorStoreManager } from './manager.ts';
import { HOST } from './ownership.ts';
import { VectorState } from './state.ts';
import { readFileSync } from 'node:fs';
import { sha256Of } from './content.ts';
import { FAST_LIMITS, entriesOf, manyFiles, startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

const content = (f: { absPath: string }) => sha256Of(readFileSync(f.absPath));

/** A pid no process has: above Linux's pid_max. */
const DEAD_PID = 4_194_304 + 4343;

/** The bound on the whole attach, held for the excess over a reference process measuring the machine in the same window. */
const MAX_TAKEOVER_MS = 2_000;

test('KI-13: claims and the store lease of a killed process are taken over at once, not after their lease', { timeout: patience(45_000) }, async (t) => {
  await judgeLatency(t, { label: 'KI-13 attach over a killed process\'s claims and lease', boundMs: MAX_TAKEOVER_MS, compareWith: 'own-loop' }, takeOverDeadClaims);
});

/** One attempt: how long the attach took, in ms. */
async function takeOverDeadClaims(): Promise<number> {
  const f = startFake();
  const st = tempState();
  try {
    const files = manyFiles(st.dir, 6);
    const s = new VectorState(st.db);
    const now = Date.now();
    await withTransaction(st.db, () => {
      s.upsertInstance('killed', DEAD_PID, HOST, now - 1_000);
      // Uploads it had claimed but not finished, and the session store it was creating.
      for (const file of files.slice(0, 4)) s.claimFile(content(file), file.relPath, 'killed', file.size, now, 60_000);
      s.tryLease('store:session:s', 'killed', now, 60_000);
    });
    const m = new VectorStoreManager({
      client: f.client(), db: st.db, instanceId: 'restarted', serverName: 'second-brain',
      // A lease as long as production's: waiting it out would fail the 5 s deadline and the 2 s bound.
      limits: { ...FAST_LIMITS, uploadLeaseMs: 60_000 },
    });
    const started = performance.now();
    const r = await m.attachFiles({ sessionId: 's', files, signal: AbortSignal.timeout(patience(5_000)) });
    const took = performance.now() - started;
    assert.deepEqual(r.failed, []);
    assert.equal(r.attached.length, 6);
    assert.equal(r.uploaded, 6, 'the dead claims were taken over and uploaded');
    assert.equal(r.stats.waitedForOthers, 0);
    assert.equal(entriesOf(f.fake, 'vector_stores.create').length, 1);
    return took;
  } finally {
    f.close();
    st.cleanup();
  }
}

test('KI-13: a claim of a live process is still waited for (two processes do not upload the same file)', { timeout: patience(15_000) }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const files = manyFiles(st.dir, 2);
    const s = new VectorState(st.db);
    const now = Date.now();
    // This very process stands in for a live uploader: its pid is alive.
    await withTransaction(st.db, () => {
      s.upsertInstance('busy', process.pid, HOST, now);
      s.claimFile(content(files[0]!), files[0]!.relPath, 'busy', files[0]!.size, now, 300);
    });
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'other', serverName: 'second-brain', limits: { ...FAST_LIMITS, uploadLeaseMs: 60_000 } });
    const r = await m.attachFiles({ sessionId: 's', files, signal: AbortSignal.timeout(patience(5_000)) });
    // The live claim lapsed after its 300 ms lease without becoming ready: then it is taken over.
    assert.equal(r.attached.length, 2);
    const uploads = entriesOf(f.fake, 'files.create');
    assert.equal(uploads.length, 2);
    const late = uploads.find((e) => files[0]!.relPath.endsWith(e.fileName ?? '?'));
    assert.ok(late && late.startWallMs - now >= 250, `the live claim was waited for until its lease lapsed (${late?.fileName} started ${late ? late.startWallMs - now : '?'} ms in)`);
  } finally {
    f.close();
    st.cleanup();
  }
});
