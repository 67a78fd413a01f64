/**
 * KI-08, KI-12 at scale: overflow of many small files must not become many uploads (50,000
 * tiny files were 1,426+ uploads, then an out-of-memory crash). Overflow is packed into
 * bundles: uploads follow bytes, not files; every member is framed with its path; the same
 * files give the same bundle, so nothing is uploaded twice (KI-14); a changed member
 * replaces its bundle; the result names every project path.
 */
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { VectorStoreManager } from './manager.ts';
import { BUNDLE_SUFFIX, bundleContent, memberHeader, planBundles } from './bundles.ts';
import type { AttachFile } from './types.ts';
import { FAST_LIMITS, entriesOf, startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

function memFiles(n: number, bytes: number, salt = ''): AttachFile[] {
  return Array.from({ length: n }, (_, i) => {
    const rel = `pkg${i % 7}/mod_${String(i).padStart(5, '0')}.ts`;
    const text = `// ${rel}${salt}\n`.padEnd(bytes - 1, 'x') + '\n';
    return { absPath: `/nonexistent/${rel}`, relPath: rel, size: Buffer.byteLength(text), mtimeMs: 1, bytes: Buffer.from(text) };
  });
}

test('KI-08: 3,000 small overflow files become a handful of uploads, each member framed with its path', { timeout: patience(30_000) }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki08b', serverName: 'second-brain', limits: { ...FAST_LIMITS, bundleMaxBytes: 200_000, bundleMinBytes: 150_000 } });
    const files = memFiles(3_000, 200); // 600 kB of overflow
    const r = await m.attachOverflow({ sessionId: 's', files, signal: AbortSignal.timeout(patience(20_000)) });
    const uploads = entriesOf(f.fake, 'files.create');
    // At most one upload per bundleMinBytes of overflow, plus the last partial bundle.
    assert.ok(uploads.length <= Math.ceil(600_000 / 150_000) + 1, `uploads: ${uploads.length}`);
    assert.ok(uploads.length >= 3, `bundles respect bundleMaxBytes: ${uploads.length}`);
    assert.equal(r.bundles, uploads.length);
    assert.equal(r.attached.length, 3_000, 'every project path is reported attached');
    assert.equal(r.failed.length, 0);
    assert.equal(r.uploaded, 3_000);
    const stored = [...f.fake.state.files.values()];
    assert.ok(stored.every((x) => x.filename.endsWith(BUNDLE_SUFFIX)), `uploads are bundles: ${stored[0]?.filename}`);
    const all = stored.map((x) => x.content).join('');
    for (const file of [files[0]!, files[1_234]!, files[2_999]!]) assert.ok(all.includes(memberHeader(file.relPath)), `${file.relPath} framed`);
    assert.ok(stored.every((x) => Buffer.byteLength(x.content) < 200_000 + 3_000 * 80), 'no bundle far past its cap');
  } finally {
    f.close();
    st.cleanup();
  }
});

test('KI-14 with bundles: the same files are not uploaded again (same session, new session); a changed member re-uploads only its bundle and replaces it', { timeout: patience(30_000) }, async () => {
  const f = startFake();
  const st = tempState();
  try {
    const limits = { ...FAST_LIMITS, bundleMaxBytes: 40_000, bundleMinBytes: 30_000 };
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'ki14b', serverName: 'second-brain', limits });
    const files = memFiles(600, 200); // 120 kB → about 4 bundles
    const first = await m.attachOverflow({ sessionId: 'a', files, signal: AbortSignal.timeout(patience(20_000)) });
    const n = entriesOf(f.fake, 'files.create').length;
    assert.ok(n >= 3, `several bundles: ${n}`);
    const again = await m.attachOverflow({ sessionId: 'a', files, signal: AbortSignal.timeout(patience(20_000)) });
    const other = await m.attachOverflow({ sessionId: 'b', files, signal: AbortSignal.timeout(patience(20_000)) });
    assert.equal(entriesOf(f.fake, 'files.create').length, n, 'nothing uploaded twice');
    assert.equal(again.reused.length, 600);
    assert.equal(other.reused.length, 600);
    assert.equal(again.bundlesUploaded, 0);
    // A follow-up where one file moved inline (still in scope, unchanged): the store's bundles still cover the rest.
    const scope = new Map(files.map((x) => [x.relPath, createHash('sha256').update(x.bytes!).digest('hex')]));
    const fewer = await m.attachOverflow({ sessionId: 'a', files: files.slice(1), scope, signal: AbortSignal.timeout(patience(20_000)) });
    assert.equal(fewer.bundlesUploaded, 0, 'a file moving inline uploads nothing');
    assert.equal(fewer.attached.length, 599);
    assert.equal(entriesOf(f.fake, 'files.create').length, n);

    // Change one member (same size): only its bundle is uploaded again, and the old copy leaves the store.
    const changed = files.map((x, i) => (i === 300 ? { ...x, bytes: Buffer.from(Buffer.from(x.bytes!).toString().replace('x', 'y')) } : x));
    const third = await m.attachOverflow({ sessionId: 'a', files: changed, signal: AbortSignal.timeout(patience(20_000)) });
    assert.equal(entriesOf(f.fake, 'files.create').length, n + 1, 'one bundle re-uploaded');
    assert.equal(third.bundlesUploaded, 1);
    assert.equal(f.fake.state.filesOf(first.vectorStoreId).size, first.bundles, 'the store holds one copy of each bundle');
    const texts = [...f.fake.state.filesOf(first.vectorStoreId).values()].map((r) => f.fake.state.files.get(r.fileId)!.content).join('');
    assert.equal(texts.split(memberHeader(files[300]!.relPath)).length - 1, 1, 'the changed file appears once in the store');
  } finally {
    f.close();
    st.cleanup();
  }
});

test('bundle cut points follow paths: a grown file moves at most its neighbouring cut', () => {
  const files = memFiles(2_000, 100);
  const limits = { maxBytes: 20_000, minBytes: 15_000 };
  const before = planBundles(files, limits).map((b) => b.relPath);
  const grown = files.map((x, i) => (i === 10 ? { ...x, size: x.size + 600 } : x));
  const after = planBundles(grown, limits).map((b) => b.relPath);
  const same = after.filter((p) => before.includes(p)).length;
  assert.ok(same >= before.length - 2, `${same} of ${before.length} bundles keep their identity`);
});

test('bundleContent frames every member and ends each with a newline', async () => {
  const files = memFiles(3, 20);
  const [b] = planBundles(files, { maxBytes: 1_000, minBytes: 1_000 });
  const text = (await bundleContent(b!, AbortSignal.timeout(1_000))).toString();
  for (const x of files) assert.ok(text.includes(`===== BEGIN FILE ${x.relPath} =====\n`) && text.split('===== END FILE =====\n').length === 4);
});
