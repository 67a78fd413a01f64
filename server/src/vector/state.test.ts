import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VectorState } from './state.ts';
import { tempState } from '../../test/support/vector-fixtures.ts';

test('a bundle\'s member rows go when its last file row is freed, and not before', (t) => {
  const st = tempState();
  t.after(() => st.cleanup());
  const s = new VectorState(st.db);
  const bundle = 'b'.repeat(64);
  s.claimFile(bundle, 'second-brain-bundles/a.md', 'me', 100, Date.now(), 60_000);
  assert.equal(s.markFileReady(bundle, 'second-brain-bundles/a.md', 'me', 'file-a'), true);
  s.putBundleMembers(bundle, [{ relPath: 'src/x.ts', sha256: 'x'.repeat(64), absPath: '/p/src/x.ts' }, { relPath: 'src/y.ts', sha256: 'y'.repeat(64), absPath: '/p/src/y.ts' }]);
  const other = 'c'.repeat(64);
  s.putBundleMembers(other, [{ relPath: 'src/z.ts', sha256: 'z'.repeat(64), absPath: '/p/src/z.ts' }]);
  assert.equal(s.countBundleMembers(), 3);

  assert.deepEqual(s.takeIfUnreferenced(bundle, 'second-brain-bundles/a.md'), { sha256: bundle, rel_path: 'second-brain-bundles/a.md', file_id: 'file-a' });
  assert.equal(s.hasBundleMembers(bundle), false, 'the freed bundle keeps no members');
  assert.equal(s.hasBundleMembers(other), true, 'another bundle keeps its members');
  assert.equal(s.countBundleMembers(), 1);
});
