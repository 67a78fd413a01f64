import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startLoopbackFake } from '../node/loopback.ts';
import { DEFAULT_BASE_URLS } from '../fake/index.ts';
import { toyCommand } from '../toys/toy-command.ts';
import { nowMs, sleep } from './clock.ts';
import { Driver } from './driver.ts';
import { DirectFakeLink, HttpFakeLink } from './fake-link.ts';
import type { FakeLink } from './fake-link.ts';
import { generateFileTree } from './file-tree.ts';
import { patience } from '../reference/patience.ts';

const PRELOAD = fileURLToPath(new URL('../node/preload.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** A driver on the healthy toy server, against a fake in the given mode, with a 10-file project. */
async function setup(mode: 'loopback' | 'in-process') {
  const dir = await mkdtemp(join(tmpdir(), 'sb-driver-test-'));
  const tree = await generateFileTree(join(dir, 'project'), { files: 10, sizeBytes: 300, depth: 1 });
  // Each upload takes 150 ms, so "during the third upload" is a window the trigger can hit.
  const fakeOptions = { faults: [{ route: 'files.create' as const, fault: { type: 'latency' as const, ms: 150 } }] };
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, OPENAI_API_KEY: 'sk-driver-test-key' };
  let link: FakeLink;
  let close = async () => {};
  if (mode === 'loopback') {
    const lb = await startLoopbackFake({ fakeOptions });
    link = new DirectFakeLink(lb.fake);
    close = () => lb.close();
    env.OPENAI_BASE_URL = lb.baseUrls.openai;
  } else {
    const controlFile = join(dir, 'control.json');
    Object.assign(env, {
      OPENAI_BASE_URL: DEFAULT_BASE_URLS.openai,
      SB_FAKE_CONFIG: JSON.stringify(fakeOptions),
      SB_FAKE_CONTROL_FILE: controlFile,
      NODE_OPTIONS: `--import=${pathToFileURL(PRELOAD).href}`,
    });
    const http = new HttpFakeLink('in-process');
    link = http;
    const driver = new Driver({ server: { command: toyCommand(), cwd: REPO, env, stderr: { policy: 'drain' } }, fake: link });
    await driver.start();
    http.connect((JSON.parse(await readFile(controlFile, 'utf8')) as { url: string }).url);
    return { driver, link, tree, cleanup: async () => { await driver.stop(); await rm(dir, { recursive: true, force: true }); } };
  }
  const driver = new Driver({ server: { command: toyCommand(), cwd: REPO, env, stderr: { policy: 'drain' } }, fake: link });
  await driver.start();
  return { driver, link, tree, cleanup: async () => { await driver.stop(); await close(); await rm(dir, { recursive: true, force: true }); } };
}

for (const mode of ['loopback', 'in-process'] as const) {
  test(`a journal-triggered cancel fires during the third upload and reaches upstream (${mode})`, { timeout: patience(20_000) }, async () => {
    const { driver, link, tree, cleanup } = await setup(mode);
    try {
      const call = await driver.call({
        id: 'upload',
        tool: 'chat_with_gpt41',
        args: { instructions: 'review', session_id: 's', context: [tree.root] },
        cancel: { when: { route: 'files.create', nth: 3 } },
      });
      assert.equal(call.outcome, 'cancelled');
      assert.match(call.cancel!.trigger, /third files\.create request started/);
      await sleep(100);
      const uploads = (await link.journal()).filter((e) => e.route === 'files.create');
      // Exactly three uploads started: the cancel came during the third, and nothing followed it.
      assert.equal(uploads.length, 3, `uploads seen: ${uploads.length}`);
      assert.equal(uploads[0]!.aborted, false);
      assert.equal(uploads[1]!.aborted, false);
      assert.equal(uploads[2]!.aborted, true, 'the third upload was aborted upstream');
      assert.ok(call.cancel!.atMs >= uploads[2]!.startWallMs - 1, 'cancelled after the third upload started');
      assert.ok(uploads[2]!.abortedAtWallMs! - call.cancel!.atMs < 100, 'abort reached the fake promptly');
      // MCP pings kept flowing and a progress-less call still recorded its timeline.
      assert.ok(driver.pings.samples.length >= 1);
    } finally {
      await cleanup();
    }
  });
}

test('an after-N-ms cancel fires at that time, and a restart keeps serving calls', { timeout: patience(20_000) }, async () => {
  const { driver, link, cleanup } = await setup('loopback');
  try {
    await link.addFaults([{ route: 'responses.create', fault: { type: 'hang' } }]);
    const t0 = nowMs();
    const call = await driver.call({ tool: 'chat_with_gpt41', args: { instructions: 'x', session_id: 's' }, cancel: { afterMs: 200 } });
    assert.equal(call.outcome, 'cancelled');
    assert.ok(call.cancel!.atMs - t0 >= 195 && call.cancel!.atMs - t0 < 400, `cancelled after ${call.cancel!.atMs - t0} ms`);
    await link.clearFaults();
    const before = driver.server.pid;
    await driver.restart('SIGKILL');
    assert.notEqual(driver.server.pid, before);
    const after = await driver.call({ tool: 'chat_with_gpt41', args: { instructions: 'x', session_id: 's' } });
    assert.equal(after.outcome, 'success', after.text);
    assert.equal(after.generation, 1);
    assert.equal(driver.crashes.length, 0, 'a kill the scenario asked for is not a crash');
  } finally {
    await cleanup();
  }
});

test('the file tree generator writes N files, a .gitignore and ignored files, deterministically', { timeout: patience(10_000) }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sb-tree-test-'));
  try {
    const spec = { files: 25, sizeBytes: { min: 100, max: 400 }, depth: 2, fanout: 2, ignoredFiles: 3, binaryFiles: 1, seed: 9 };
    const a = await generateFileTree(join(dir, 'a'), spec);
    const b = await generateFileTree(join(dir, 'b'), spec);
    assert.equal(a.files.length, 25);
    assert.equal(a.ignored.length, 3);
    assert.equal(a.totalBytes, b.totalBytes);
    assert.equal(await readFile(join(a.root, a.files[7]!), 'utf8'), await readFile(join(b.root, b.files[7]!), 'utf8'));
    assert.match(await readFile(join(a.root, '.gitignore'), 'utf8'), /^build\/$/m);
    assert.ok(a.files.some((f) => f.split('/').length === 3), 'files reach the requested depth');
    const size = (await readFile(join(a.root, a.files[0]!))).length;
    assert.ok(size >= 100 && size <= 400, `size ${size}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
