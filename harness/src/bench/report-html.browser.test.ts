/**
 * The benchmark page as a person sees it, in a real Chromium, from a fixture bench.json
 * (not by running the benchmarks): no console error, no network request, a chart per
 * figure, the missed target visible. A screenshot goes to reports/screenshots/.
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

const SCREENSHOTS = fileURLToPath(new URL('../../../reports/screenshots/', import.meta.url));

const FIXTURE: BenchReport = {
  quick: false,
  at: '2026-01-01T00:00:00.000Z',
  node: 'v24.0.0',
  benchmarks: [
    {
      name: 'scale',
      title: 'Cost against tree size',
      rows: [
        { case: '1,000 mixed', figures: { wallMs: { value: 420, unit: 'ms' }, uploads: { value: 12, unit: '{file}' }, peakRssMb: { value: 95, unit: 'MB' } }, targets: [{ column: 'wallMs', op: '<=', bound: 400, pass: false }] },
        { case: '50,000 tiny', figures: { wallMs: { value: 2100, unit: 'ms' }, uploads: { value: 40, unit: '{file}' }, peakRssMb: { value: 180, unit: 'MB' } } },
      ],
    },
  ],
};

test('the bench page in a browser: no console error, no request, a chart per figure, the miss visible', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sb-bench-page-'));
  const browser = await launchBrowser();
  try {
    const path = join(dir, 'bench.html');
    await writeFile(path, benchReportHtml(FIXTURE));
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10_000);
    const watch = await guardPage(page);
    await page.goto(pathToFileURL(path).href);
    assert.equal(await page.getByRole('img').count(), 3, 'a chart per figure');
    assert.ok(await page.getByRole('img', { name: 'scale: wallMs per case' }).isVisible());
    const targets = page.getByRole('table', { name: 'Targets of scale' });
    assert.ok(await targets.getByText('missed', { exact: true }).isVisible());
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
