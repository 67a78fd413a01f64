/**
 * The benchmark page as a person sees it, in a real Chromium, from a fixture bench.json
 * (not by running the benchmarks): no console error, no network request, a chart per
 * figure, whiskers where rounds were measured, the missed target visible. A screenshot
 * goes to reports/screenshots/.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchBrowser } from '../browser/launch.ts';
import { guardPage } from '../browser/page-guard.ts';
import { benchReportHtml, type BenchReport } from './report-html.ts';
import type { BenchRow } from './types.ts';
import { patience } from '../reference/patience.ts';

const SCREENSHOTS = fileURLToPath(new URL('../../../reports/screenshots/', import.meta.url));

const scale = (c: string, wall: number, uploads: number, rss: number): BenchRow => ({
  case: c,
  figures: { 'wall s': { value: wall, unit: 's' }, uploads: { value: uploads, unit: '' }, 'peak RSS MB': { value: rss, unit: 'MB' } },
  targets: [{ column: 'peak RSS MB', op: '<=', bound: 600, pass: rss <= 600 }],
});

const FIXTURE: BenchReport = {
  quick: false,
  at: '2026-01-01T00:00:00.000Z',
  node: 'v24.0.0',
  benchmarks: [
    {
      name: 'http',
      title: 'Streamable HTTP against the bare SDK server',
      rows: [
        { case: 'target: HTTP list_models req/s vs bare SDK server', figures: { value: { value: 0.82, unit: '×' }, bound: { value: 0.8, unit: '×' } }, targets: [{ column: 'value', op: '>=', bound: 0.8, pass: true }], rounds: [0.51, 0.82, 1.03, 0.9, 0.7] },
        { case: 'target: HTTP chat_with_gpt41 req/s vs bare SDK server', figures: { value: { value: 0.54, unit: '×' }, bound: { value: 0.8, unit: '×' } }, targets: [{ column: 'value', op: '>=', bound: 0.8, pass: false }], rounds: [0.43, 0.54, 0.89, 0.5, 0.6] },
        { case: 'target: HTTP chat_with_gpt41 server loop delay p99 ms', figures: { value: { value: 103, unit: 'ms' }, bound: { value: 20, unit: 'ms' } }, targets: [{ column: 'value', op: '<=', bound: 20, pass: false }], rounds: [98, 103, 120] },
        { case: 'chat_sb_rps', figures: { value: { value: 519, unit: '' }, bound: { value: null, unit: '' } } },
      ],
    },
    {
      name: 'scale',
      title: 'Cost against tree size',
      rows: [scale('1,000 tiny', 2.4, 1, 289), scale('10,000 tiny', 2.6, 1, 333), scale('50,000 tiny', 6.4, 2, 508), scale('1,000 mixed', 6.1, 1, 284), scale('10,000 mixed', 98, 3, 419), scale('50,000 mixed', 200, 13, 664)],
    },
  ],
};

test('the bench page in a browser: no console error, no request, a chart per figure, whiskers per round, the miss visible', { timeout: patience(60_000) }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sb-bench-page-'));
  const browser = await launchBrowser();
  try {
    const path = join(dir, 'bench.html');
    await writeFile(path, benchReportHtml(FIXTURE));
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10_000);
    const watch = await guardPage(page);
    await page.goto(pathToFileURL(path).href);
    assert.equal(await page.getByRole('img').count(), 5, 'two spread charts (× and ms), one chart per scale figure');
    const ratios = page.getByRole('img', { name: 'http: ratios against the anchor, per round' });
    assert.ok(await ratios.isVisible());
    assert.equal(await ratios.locator('.whisker').count(), 2, 'a whisker per ratio measured in rounds');
    assert.equal(await ratios.locator('.dot').count(), 10, 'a dot per round');
    assert.equal(await ratios.locator('.target').count(), 2, 'each ratio against its target line');
    const box = await ratios.boundingBox();
    assert.ok(box && box.width > 600, `the chart is drawn at full width: ${JSON.stringify(box)}`);
    assert.equal(await page.getByRole('img', { name: 'http: ms per round' }).locator('.whisker').count(), 1);
    for (const c of ['wall s', 'uploads', 'peak RSS MB']) {
      const chart = page.getByRole('img', { name: `scale: ${c} against files` });
      assert.ok(await chart.isVisible(), c);
      assert.equal(await chart.locator('circle.point').count(), 6 + 2, `${c}: a point per case, plus the legend's two`);
    }
    const targets = page.getByRole('table', { name: 'Targets of http' });
    assert.equal(await targets.getByText('missed', { exact: true }).count(), 2);
    assert.ok(await page.getByRole('table', { name: 'Targets of scale' }).getByText('missed', { exact: true }).isVisible());
    await mkdir(SCREENSHOTS, { recursive: true });
    const png = join(SCREENSHOTS, 'bench-report.png');
    await page.screenshot({ path: png, fullPage: true });
    assert.ok((await stat(png)).size > 10_000, 'a screenshot with content');
    assert.deepEqual(watch.consoleErrors, []);
    assert.deepEqual(watch.pageErrors, []);
    assert.deepEqual(watch.network, []);
    await page.close();
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
});
