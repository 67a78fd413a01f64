import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gatherFiles } from './gather.ts';
import { closeContextWorkers, contextWorkerStats } from './workers.ts';
import { patience } from '@second-brain/harness';

after(() => closeContextWorkers());
import type { GatherResult } from './gather.ts';

function tempTree(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'sb-gather-'));
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return root;
}

const paths = (r: GatherResult) => r.files.map((f) => f.relPath).sort();
const reasonOf = (r: GatherResult, path: string) => r.skipped.find((s) => s.path === path)?.reason;
const signal = () => AbortSignal.timeout(patience(10_000));

test('gitignore is honoured at every level, negation included', { timeout: patience(10_000) }, async (t) => {
  const root = tempTree({
    '.gitignore': '*.log\n!keep.log\n/generated/\ndocs/*.md\n!docs/README.md\n',
    'a.ts': 'a',
    'x.log': 'ignored by root',
    'keep.log': 'negated at root',
    'generated/out.ts': 'anchored dir',
    'docs/guide.md': 'ignored',
    'docs/README.md': 'negated',
    'sub/.gitignore': '!important.log\nlocal.txt\n',
    'sub/important.log': 'negated one level down',
    'sub/other.log': 'still ignored by root rule',
    'sub/local.txt': 'ignored by sub rule',
    'sub/generated/in-sub.ts': 'root rule is anchored to the root, so this stays',
    'sub/deeper/.gitignore': 'keep.log\n!local.txt\n',
    'sub/deeper/keep.log': 'root negation overridden by a deeper rule',
    'sub/deeper/local.txt': 'sub rule overridden by a deeper negation',
    'sub/deeper/ok.ts': 'ok',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: signal() });
  assert.deepEqual(paths(r), [
    '.gitignore', 'a.ts', 'docs/README.md', 'keep.log',
    'sub/.gitignore', 'sub/deeper/.gitignore', 'sub/deeper/local.txt', 'sub/deeper/ok.ts',
    'sub/generated/in-sub.ts', 'sub/important.log',
  ]);
  assert.equal(r.stats.gitignored, 6);

  // Starting the walk below the root still applies the root's rules.
  const r2 = await gatherFiles({ paths: ['sub'], roots: [root], signal: signal() });
  assert.ok(!paths(r2).includes('sub/other.log'));
  assert.ok(paths(r2).includes('sub/important.log'));

  // A file named explicitly is taken even when ignored.
  const r3 = await gatherFiles({ paths: ['x.log'], roots: [root], signal: signal() });
  assert.deepEqual(paths(r3), ['x.log']);
});

test('build and vendor directories are skipped with a reason', { timeout: patience(10_000) }, async (t) => {
  const root = tempTree({
    'src/a.ts': 'a', 'node_modules/x/index.js': 'x', 'dist/a.js': 'a', '.git/HEAD': 'ref',
    'pkg/__pycache__/m.pyc': 'c', '.venv/lib/x.py': 'x', 'target/debug/x': 'x', 'coverage/lcov.info': 'x',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: signal() });
  assert.deepEqual(paths(r), ['src/a.ts']);
  for (const d of ['node_modules/', 'dist/', 'pkg/__pycache__/', '.venv/', 'target/', 'coverage/']) assert.equal(reasonOf(r, d), 'excluded-dir', d);
  assert.equal(reasonOf(r, '.git/'), 'vcs-internal');
});

test('binary content is sniffed, extensions are not trusted', { timeout: patience(10_000) }, async (t) => {
  const latin1 = Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e, a long enough sentence in plain Latin-1 encoding.\n', 'latin1');
  const tail = Buffer.concat([Buffer.from('x'.repeat(10_000)), Buffer.from([0]), Buffer.from('y')]);
  const random = Buffer.alloc(4_096);
  for (let i = 0; i < random.length; i++) random[i] = 0x80 + ((i * 37) % 0x7f); // invalid UTF-8, no NUL
  const root = tempTree({
    'nul.txt': Buffer.from('looks like text\0but has a NUL'),
    'text.bin': 'plain UTF-8 text in a .bin file: kept\n',
    'noext': 'also text\n',
    'utf8.md': 'héllo wörld — ünïcödé ✓\n',
    'legacy.txt': latin1,
    'late-nul.txt': tail,
    'garbage.dat': random,
    'empty.txt': '',
    'bom.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('with bom')]),
    'cut.md': Buffer.concat([Buffer.from('a'.repeat(8_191)), Buffer.from('é tail')]), // multi-byte char across the 8 KiB sample edge
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: signal() });
  assert.deepEqual(paths(r), ['bom.txt', 'cut.md', 'empty.txt', 'legacy.txt', 'noext', 'text.bin', 'utf8.md']);
  for (const p of ['nul.txt', 'late-nul.txt', 'garbage.dat']) assert.equal(reasonOf(r, p), 'binary', p);
  const byPath = new Map(r.files.map((f) => [f.relPath, f]));
  assert.equal(byPath.get('bom.txt')!.text, 'with bom');
  assert.equal(byPath.get('utf8.md')!.text, 'héllo wörld — ünïcödé ✓\n');
  assert.match(byPath.get('legacy.txt')!.text!, /caf\uFFFD cr/);
  assert.equal(byPath.get('empty.txt')!.text, '');
});

test('a symlink loop is skipped and the walk ends', { timeout: patience(10_000) }, async (t) => {
  const root = tempTree({ 'a/file.ts': 'x', 'b/other.ts': 'y' });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  symlinkSync('..', join(root, 'a', 'up'));          // a/up → root: an ancestor
  symlinkSync(join(root, 'a'), join(root, 'b', 'to-a')); // b/to-a → a: walked already
  symlinkSync('self', join(root, 'self'));            // self → self: ELOOP
  symlinkSync('missing-target', join(root, 'dangling'));
  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: signal() });
  assert.deepEqual(paths(r), ['a/file.ts', 'b/other.ts']);
  assert.equal(reasonOf(r, 'a/up/'), 'symlink-loop');
  assert.equal(reasonOf(r, 'self'), 'symlink-loop');
  assert.equal(reasonOf(r, 'dangling'), 'broken-symlink');
  assert.ok(['duplicate', 'symlink-loop'].includes(reasonOf(r, 'b/to-a/')!), JSON.stringify(r.skipped));
});

test('a symlink out of the roots is skipped and its target never read', { timeout: patience(10_000) }, async (t) => {
  const outside = tempTree({ 'secret-notes.txt': 'OUTSIDE-CONTENT', 'dir/x.txt': 'OUTSIDE-DIR' });
  const root = tempTree({ 'in.ts': 'inside' });
  t.after(() => { rmSync(root, { recursive: true, force: true }); rmSync(outside, { recursive: true, force: true }); });
  symlinkSync(join(outside, 'secret-notes.txt'), join(root, 'link.txt'));
  symlinkSync(join(outside, 'dir'), join(root, 'linkdir'));
  symlinkSync('in.ts', join(root, 'inner-link.ts')); // inside: followed, deduplicated by real path
  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: signal() });
  assert.deepEqual(paths(r), ['in.ts']);
  assert.equal(reasonOf(r, 'link.txt'), 'symlink-outside-roots');
  assert.equal(reasonOf(r, 'linkdir'), 'symlink-outside-roots');
  assert.ok(!JSON.stringify(r).includes('OUTSIDE-'));
});

test('a file that vanishes between listing and reading is skipped', { timeout: patience(10_000) }, async (t) => {
  const root = tempTree({ 'a.ts': 'a', 'gone.ts': 'soon gone', 'z.ts': 'z' });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  let removed = false;
  const r = await gatherFiles({
    paths: ['.'], roots: [root], signal: signal(),
    onProgress: (_done, _total, message) => {
      if (!removed && message.startsWith('Reading')) { unlinkSync(join(root, 'gone.ts')); removed = true; }
    },
  });
  assert.ok(removed);
  assert.deepEqual(paths(r), ['a.ts', 'z.ts']);
  assert.equal(reasonOf(r, 'gone.ts'), 'vanished');
});

test('secret files are skipped by default and reported', { timeout: patience(10_000) }, async (t) => {
  const root = tempTree({
    '.env': 'KEY=1', '.env.production': 'KEY=2', '.env.example': 'KEY=', 'certs/server.pem': 'x', 'certs/server.key': 'x',
    'id_rsa': 'x', 'id_rsa.pub': 'ssh-rsa AAA', '.npmrc': '//registry/:_authToken=x', 'aws/credentials': 'x', 'app.ts': 'ok',
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: signal() });
  assert.deepEqual(paths(r), ['.env.example', 'app.ts', 'id_rsa.pub']);
  for (const p of ['.env', '.env.production', 'certs/server.pem', 'certs/server.key', 'id_rsa', '.npmrc', 'aws/credentials']) assert.equal(reasonOf(r, p), 'secret', p);
  // Named explicitly: still skipped unless the caller opts in.
  const r2 = await gatherFiles({ paths: ['.env'], roots: [root], signal: signal() });
  assert.equal(r2.files.length, 0);
  assert.equal(reasonOf(r2, '.env'), 'secret');
  const r3 = await gatherFiles({ paths: ['.env'], roots: [root], signal: signal(), limits: { includeSecrets: true } });
  assert.equal(r3.files[0]?.text, 'KEY=1');
});

test('per-file, total and count caps', { timeout: patience(10_000) }, async (t) => {
  const files: Record<string, string> = { 'big.txt': 'b'.repeat(2_000) };
  for (let i = 0; i < 10; i++) files[`f${i}.txt`] = 'x'.repeat(100);
  const root = tempTree(files);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: signal(), limits: { maxFileBytes: 1_000, maxTotalBytes: 550 } });
  assert.equal(reasonOf(r, 'big.txt'), 'too-large');
  assert.equal(r.files.length, 5);
  assert.ok(r.stats.totalBytes <= 550);
  assert.equal(r.skipped.filter((s) => s.reason === 'total-size-cap').length, 5);

  const r2 = await gatherFiles({ paths: ['.'], roots: [root], signal: signal(), limits: { maxFiles: 4 } });
  assert.equal(r2.files.length, 4);
  assert.ok(r2.stats.truncated);
  assert.ok(r2.skipped.some((s) => s.reason === 'file-count-cap'));

  await assert.rejects(gatherFiles({ paths: ['.'], roots: [root], signal: signal(), limits: { maxFiles: -1 } }), { code: 'SB_ERR_INVALID_ARGUMENT' });
  await assert.rejects(gatherFiles({ paths: ['.'], roots: [root], signal: signal(), limits: { maxFlies: 3 } as never }), { code: 'SB_ERR_INVALID_ARGUMENT' });
});

test('priority files come first and survive the caps', { timeout: patience(10_000) }, async (t) => {
  const root = tempTree({ 'a.txt': 'a'.repeat(300), 'b.txt': 'b'.repeat(300), 'z/important.txt': 'z'.repeat(300) });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = await gatherFiles({ paths: ['.'], priorityPaths: ['z'], roots: [root], signal: signal(), limits: { maxTotalBytes: 400 } });
  assert.deepEqual(r.files.map((f) => [f.relPath, f.priority]), [['z/important.txt', true]]);
});

test('non-UTF-8 names and special files are skipped', { timeout: patience(10_000) }, async (t) => {
  const root = tempTree({ 'ok.ts': 'ok' });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(Buffer.concat([Buffer.from(root + '/bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]), 'x');
  execFileSync('mkfifo', [join(root, 'pipe')]);
  const r = await gatherFiles({ paths: ['.'], roots: [root], signal: signal() });
  assert.deepEqual(paths(r), ['ok.ts']);
  assert.ok(r.skipped.some((s) => s.reason === 'non-utf8-name' && s.path.startsWith('bad-')));
  assert.equal(reasonOf(r, 'pipe'), 'special-file');
});

test('unreadable files and directories are skipped (EACCES)', { timeout: patience(15_000) }, async (t) => {
  const root = tempTree({ 'ok.ts': 'ok', 'locked.ts': 'secret', 'closed/inner.ts': 'x' });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  chmodSync(root, 0o755);
  chmodSync(join(root, 'ok.ts'), 0o644);
  chmodSync(join(root, 'locked.ts'), 0o000);
  chmodSync(join(root, 'closed'), 0o000);
  const script = `import { gatherFiles } from ${JSON.stringify(new URL('./gather.ts', import.meta.url).pathname)};
    const r = await gatherFiles({ paths: ['.'], roots: [${JSON.stringify(root)}], signal: AbortSignal.timeout(${patience(8_000)}) });
    process.stdout.write(JSON.stringify({ files: r.files.map((f) => f.relPath), skipped: r.skipped }));`;
  // Root reads everything, so the check runs as an unprivileged user when the tests run as root.
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { ...asNobody, encoding: 'utf8', timeout: patience(12_000) });
  // A checkout inside a private directory (mktemp -d is 0700) cannot be read by the
  // unprivileged user at all; then this check cannot run here, and says so.
  const cannotStart = `${child.error ?? ''} ${child.stderr ?? ''}`;
  if (asNobody.uid !== undefined && child.status !== 0 && /EACCES|permission denied|ERR_MODULE_NOT_FOUND|Cannot find module/i.test(cannotStart)) {
    t.skip(`user nobody cannot read this checkout (${(cannotStart.split('\n').find((l) => /Error|EACCES/.test(l)) ?? cannotStart).trim().slice(0, 160)})`);
    return;
  }
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout) as { files: string[]; skipped: Array<{ path: string; reason: string }> };
  assert.deepEqual(out.files, ['ok.ts']);
  assert.deepEqual(out.skipped.map((s) => `${s.path}:${s.reason}`).sort(), ['closed/:unreadable', 'locked.ts:unreadable']);
});

test('an abort stops the gather with SB_ERR_CANCELLED', { timeout: patience(10_000) }, async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 300; i++) files[`d${i % 10}/f${i}.txt`] = 'x';
  const root = tempTree(files);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const ac = new AbortController();
  let calls = 0;
  const p = gatherFiles({ paths: ['.'], roots: [root], signal: ac.signal, onProgress: () => { if (++calls === 1) ac.abort(); } });
  await assert.rejects(p, { code: 'SB_ERR_CANCELLED' });
});

test('large sets are read on the reader thread with the same rules: sniffing, caps, order, vanished files', { timeout: patience(15_000) }, async (t) => {
  const files: Record<string, string | Buffer> = {
    'a-nul.txt': Buffer.from('text\0with NUL'),
    'a-text.bin': 'UTF-8 text in a .bin file\n',
    'a-late-nul.txt': Buffer.concat([Buffer.from('x'.repeat(8_400)), Buffer.from([0]), Buffer.from('y'.repeat(99))]),
    'a-bom.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('with bom')]),
    'a-big.txt': 'b'.repeat(20_000),
    'a-gone.txt': 'vanishes',
    'z/priority.txt': 'p'.repeat(1_000),
  };
  for (let i = 0; i < 100; i++) files[`pad/f${String(i).padStart(3, '0')}.txt`] = 'x'.repeat(200);
  const root = tempTree(files);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const before = contextWorkerStats().reader.completed;
  let removed = false;
  const r = await gatherFiles({
    paths: ['.'], priorityPaths: ['z'], roots: [root], signal: signal(), limits: { maxFileBytes: 12_000, maxTotalBytes: 9_637 },
    onProgress: (_d, _t, m) => { if (!removed && m.startsWith('Reading')) { unlinkSync(join(root, 'a-gone.txt')); removed = true; } },
  });
  assert.ok(contextWorkerStats().reader.completed > before, 'read on the reader thread');
  assert.equal(r.stats.readerFallbacks, 0);
  assert.equal(r.files[0]!.relPath, 'z/priority.txt', 'priority first, within the byte cap');
  for (const p of ['a-nul.txt', 'a-late-nul.txt']) assert.equal(reasonOf(r, p), 'binary', p);
  assert.equal(reasonOf(r, 'a-big.txt'), 'too-large');
  assert.equal(reasonOf(r, 'a-gone.txt'), 'vanished');
  const byPath = new Map(r.files.map((f) => [f.relPath, f]));
  assert.equal(byPath.get('a-bom.txt')!.text, 'with bom');
  assert.equal(byPath.get('a-text.bin')!.text, 'UTF-8 text in a .bin file\n');
  // The byte cap takes files in order (priority, then by path) until it is full; binary files cost nothing.
  assert.equal(r.stats.totalBytes, 1_000 + 11 + 26 + 43 * 200);
  assert.ok(byPath.has('pad/f042.txt') && !byPath.has('pad/f043.txt'));
  assert.equal(reasonOf(r, 'pad/f043.txt'), 'total-size-cap');
});
