/**
 * The browser helper and the page guard catch what the page tests rely on them to catch:
 * a request leaving the machine, a console error, an uncaught exception. Without this, a
 * page test asserting "no request" could pass because nothing was watching.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { findBrowser, launchBrowser, OFFLINE_FLAGS, SYSTEM_CHROMIUM_PATH } from './launch.ts';
import { guardPage } from './page-guard.ts';
import { patience } from '../reference/patience.ts';

let dir: string;
let browser: Browser;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-page-guard-'));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

test('a browser is found on every machine: the system Chromium, else the one from npm', async () => {
  const source = await findBrowser();
  assert.equal(source.from, existsSync(SYSTEM_CHROMIUM_PATH) ? 'system' : 'npm');
  assert.ok(existsSync(source.executablePath), source.executablePath);
  if (source.from === 'npm') {
    assert.match(source.executablePath, /second-brain-chromium-\d+\.\d+\.\d+\/chromium$/);
    assert.ok(!source.args.includes('--disable-web-security'), 'page security stays on');
  }
  assert.ok(OFFLINE_FLAGS.includes('--disable-background-networking') && OFFLINE_FLAGS.includes('--disable-component-update'));
  assert.match(browser.version(), /^\d+\./);
});

test('the guard refuses and records a request off the machine, console errors and exceptions', { timeout: patience(30_000) }, async () => {
  const file = join(dir, 'leaky.html');
  await writeFile(file, `<!doctype html><title>leaky</title><img src="http://192.0.2.1/pixel.png" alt="">
<script>console.error('boom'); setTimeout(() => { throw new Error('uncaught'); });</script>`);
  const page = await browser.newPage();
  const watch = await guardPage(page);
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => true);
  await page.waitForTimeout(200);
  assert.deepEqual(watch.network, ['http://192.0.2.1/pixel.png']);
  assert.ok(watch.consoleErrors.includes('boom'), watch.consoleErrors.join(' | '));
  assert.ok(watch.pageErrors.some((e) => e.includes('uncaught')), watch.pageErrors.join(' | '));
  assert.deepEqual(watch.requests, [pathToFileURL(file).href, 'http://192.0.2.1/pixel.png']);
  await page.close();
});
