/**
 * The trace waterfall as a person sees it, in a real Chromium: `traces open` writes the
 * page from the local OTLP files, and the page loads with no console error and no network
 * request, draws a bar per span nested by parent, marks the slowest span, and opens a
 * span's details on a click or a key press. A screenshot goes to reports/screenshots/.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { guardPage, launchBrowser } from '@second-brain/harness';
import type { Browser } from 'playwright-core';
import { runTracesCli } from '../cli/traces.ts';
import { SAMPLE_SPAN_COUNT, SAMPLE_TRACE_ID, sampleTrace } from './sample-trace.ts';
import { patience } from '@second-brain/harness';

const SCREENSHOTS = fileURLToPath(new URL('../../../reports/screenshots/', import.meta.url));
let home: string;
let browser: Browser;
let pagePath: string;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'sb-trace-page-'));
  await mkdir(join(home, 'telemetry'));
  await writeFile(join(home, 'telemetry', 'traces-1.jsonl'), `${JSON.stringify(sampleTrace())}\n`);
  const lines: string[] = [];
  const code = await runTracesCli(['open', SAMPLE_TRACE_ID.slice(0, 8)], { home, out: (s) => lines.push(s) });
  assert.equal(code, 0, lines.join('\n'));
  pagePath = lines[0]!;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await rm(home, { recursive: true, force: true });
});

test('the trace page in a browser: no console error, no request, a bar per span, nesting, the slowest marked, details on click', { timeout: patience(60_000) }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(10_000);
  const watch = await guardPage(page);
  await page.goto(pathToFileURL(pagePath).href);
  assert.equal(await page.title(), `Trace ${SAMPLE_TRACE_ID}`);

  const grid = page.getByRole('treegrid', { name: 'Spans on a time axis' });
  const spanRows = grid.locator('tr.span-row');
  assert.equal(await spanRows.count(), SAMPLE_SPAN_COUNT, 'a row per span');
  assert.equal(await grid.getByRole('img').count(), SAMPLE_SPAN_COUNT, 'a bar per span');
  assert.equal(await grid.getByRole('button').count(), SAMPLE_SPAN_COUNT, 'a control per span');

  // Nesting: each child's bar lies within its parent's, and its name is indented further.
  const box = async (name: string) => {
    const row = grid.getByRole('row').filter({ has: page.getByRole('button', { name, exact: true }) }).first();
    const bar = await row.getByRole('img').boundingBox();
    const label = await row.getByRole('button').boundingBox();
    assert.ok(bar && label, `${name} is drawn`);
    return { bar, label, level: Number(await row.getAttribute('aria-level')) };
  };
  const chat = await box('chat o3');
  const poll = await box('openai.poll_background');
  const root = await box('tools/call chat_with_o3');
  assert.deepEqual([root.level, chat.level, poll.level], [1, 2, 3]);
  for (const [child, parent] of [[chat, root], [poll, chat]] as const) {
    assert.ok(child.bar.x >= parent.bar.x - 1 && child.bar.x + child.bar.width <= parent.bar.x + parent.bar.width + 1, 'child bar within parent bar');
    assert.ok(child.label.x > parent.label.x, 'child indented');
  }
  assert.ok(root.bar.width > 600, `the root spans the axis: ${root.bar.width}px`);

  const slowest = grid.locator('tr.span-row.slowest');
  assert.equal(await slowest.count(), 1);
  assert.equal(await slowest.getByRole('button').textContent(), 'openai.poll_background');
  assert.ok(await slowest.getByText('slowest', { exact: true }).isVisible());
  assert.ok(await page.getByText('1 loop stall(s)').isVisible());
  assert.equal(await grid.getByText('cancelled', { exact: true }).filter({ visible: true }).count(), 3, 'a cancelled tag on each span that saw the cancel');

  // A click opens the span's details; a second click closes them.
  const details = page.getByRole('region', { name: 'Details of chat o3' });
  assert.equal(await details.isVisible(), false);
  await page.getByRole('button', { name: 'chat o3', exact: true }).click();
  assert.ok(await details.isVisible());
  assert.equal(await page.getByRole('button', { name: 'chat o3', exact: true }).getAttribute('aria-expanded'), 'true');
  assert.ok(await details.getByRole('table', { name: 'Attributes of chat o3' }).getByText('gen_ai.request.model').isVisible());
  assert.ok(await details.getByRole('table', { name: 'Events of chat o3' }).getByText('second_brain.retry', { exact: true }).isVisible());
  await mkdir(SCREENSHOTS, { recursive: true });
  const png = join(SCREENSHOTS, 'trace-page.png');
  await page.screenshot({ path: png, fullPage: true });
  assert.ok((await stat(png)).size > 20_000, 'a screenshot with content');
  await page.getByRole('button', { name: 'chat o3', exact: true }).click();
  assert.equal(await details.isVisible(), false);

  // The keyboard works too: the control is a real button.
  await page.getByRole('button', { name: 'context.upload', exact: true }).focus();
  await page.keyboard.press('Enter');
  assert.ok(await page.getByRole('region', { name: 'Details of context.upload' }).isVisible());

  assert.deepEqual(watch.consoleErrors, []);
  assert.deepEqual(watch.pageErrors, []);
  assert.deepEqual(watch.network, []);
  assert.deepEqual(watch.requests, [pathToFileURL(pagePath).href], 'the page itself is the only request');
  await page.close();
});
