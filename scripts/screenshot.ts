/**
 * Screenshots one of the project's HTML pages in the same offline Chromium the browser
 * tests use, refusing pages that log an error or try the network. Makes the README's
 * pictures:
 *
 *   node scripts/screenshot.ts reports/chaos/traces/KI-05-provider-cancel.html docs/images/trace-page.png --click "tools/call chat_with_grok4"
 *   node scripts/screenshot.ts reports/chaos/index.html docs/images/chaos-report.png --height 900
 *   node scripts/screenshot.ts reports/bench/bench.html docs/images/bench-report.png --height 1000
 *
 * Options: --width PX (default 1280), --height PX (default 800; the viewport, not the
 * whole page unless --full), --full, --click NAME (a button to press first, by its
 * accessible name), --scale F (device scale factor, default 1).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { guardPage, launchBrowser } from '@second-brain/harness';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { width: { type: 'string' }, height: { type: 'string' }, full: { type: 'boolean' }, click: { type: 'string', multiple: true }, scale: { type: 'string' } },
});
if (positionals.length !== 2) {
  process.stderr.write('usage: node scripts/screenshot.ts PAGE.html OUT.png [--width PX] [--height PX] [--full] [--click NAME] [--scale F]\n');
  process.exit(2);
}
const [input, output] = positionals as [string, string];
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: Number(values.width ?? 1280), height: Number(values.height ?? 800) }, deviceScaleFactor: Number(values.scale ?? 1) });
  const watch = await guardPage(page);
  await page.goto(pathToFileURL(resolve(input)).href);
  for (const name of values.click ?? []) await page.getByRole('button', { name, exact: true }).first().click();
  const problems = [...watch.consoleErrors, ...watch.pageErrors, ...watch.network.map((u) => `request to ${u}`)];
  if (problems.length) throw new Error(`${input}: ${problems.join('; ')}`);
  await page.screenshot({ path: output, fullPage: values.full === true });
  process.stdout.write(`${output}\n`);
} finally {
  await browser.close();
}
