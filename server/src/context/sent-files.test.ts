import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../state/db.ts';
import { filterUnchanged, forgetSent, recordSent } from './sent-files.ts';
import { closeContextWorkers } from './workers.ts';
import type { GatheredFile } from './types.ts';
import { patience } from '@second-brain/harness';

after(() => closeContextWorkers());

function file(name: string, text: string, mtimeMs = 1_000): GatheredFile {
  return { absPath: `/repo/${name}`, relPath: name, size: Buffer.byteLength(text), mtimeMs, priority: false, text };
}

function freshDb() {
  const dir = mkdtempSync(join(tmpdir(), 'sb-sent-'));
  const db = openDatabase(join(dir, 'state.db'));
  return { db, cleanup: () => { db.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const names = (fs: GatheredFile[]) => fs.map((f) => f.relPath).sort();

test('a follow-up resends only files that changed', { timeout: patience(10_000) }, async (t) => {
  const { db, cleanup } = freshDb();
  t.after(cleanup);
  const s = AbortSignal.timeout(patience(8_000));
  const first = [file('a.ts', 'alpha'), file('b.ts', 'beta'), file('c.ts', 'gamma')];
  const r1 = await filterUnchanged(db, 'S1', first, s);
  assert.deepEqual(names(r1.toSend), ['a.ts', 'b.ts', 'c.ts']);
  await recordSent(db, 'S1', r1.toSend.map((f, i) => Object.assign(f, { tokens: 10 * (i + 1) })), s);

  const second = [
    file('a.ts', 'alpha'),             // unchanged
    file('b.ts', 'beta', 2_000),       // touched: same bytes, new mtime → not resent
    file('c.ts', 'GAMMA', 3_000),      // same size, new content → resent
    file('d.ts', 'new file'),          // never sent
  ];
  const r2 = await filterUnchanged(db, 'S1', second, s);
  assert.deepEqual(names(r2.alreadySent), ['a.ts', 'b.ts']);
  assert.deepEqual(names(r2.toSend), ['c.ts', 'd.ts']);
  assert.equal(r2.alreadySentTokens, 10 + 20);

  // The touched file's new mtime was stored, so the next check needs no hash.
  const row = db.prepare('SELECT mtime_ms FROM context_sent_files WHERE session_id = ? AND path = ?').get('S1', '/repo/b.ts') as { mtime_ms: number };
  assert.equal(row.mtime_ms, 2_000);

  const grown = await filterUnchanged(db, 'S1', [file('a.ts', 'alpha!')], s);
  assert.deepEqual(names(grown.toSend), ['a.ts']);

  // Another session knows nothing of S1's files.
  assert.deepEqual(names((await filterUnchanged(db, 'S2', second, s)).toSend), ['a.ts', 'b.ts', 'c.ts', 'd.ts']);

  await forgetSent(db, 'S1', s);
  assert.equal((await filterUnchanged(db, 'S1', second, s)).alreadySent.length, 0);
});

test('recordSent stores sha256 (hashing where missing) and survives reopening the database', { timeout: patience(10_000) }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-sent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'state.db');
  let db = openDatabase(path);
  const big = file('big.ts', 'x'.repeat(200_000));
  await recordSent(db, 'S', [big, file('small.ts', 'y')], AbortSignal.timeout(patience(8_000)));
  assert.match(big.sha256!, /^[0-9a-f]{64}$/);
  db.close();
  db = openDatabase(path);
  t.after(() => db.close());
  const r = await filterUnchanged(db, 'S', [file('big.ts', 'x'.repeat(200_000), 9_999)], AbortSignal.timeout(patience(8_000)));
  assert.equal(r.alreadySent.length, 1);
  await assert.rejects(recordSent(db, '', [], AbortSignal.timeout(1_000)), { code: 'SB_ERR_INVALID_ARGUMENT' });
  await assert.rejects(filterUnchanged(db, 'S', [big], AbortSignal.abort()), { code: 'SB_ERR_CANCELLED' });
});
