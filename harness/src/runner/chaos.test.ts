import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { guardPage } from '../browser/page-guard.ts';
import { launchBrowser } from '../browser/launch.ts';
import { main } from '../cli.ts';
import { toyCommand } from '../toys/toy-command.ts';
import { patience } from '../reference/patience.ts';

/**
 * The chaos CLI end to end against the toy server: exit codes (0 all pass, 1 any fail,
 * 2 bad scenario file), the report files, and the HTML report as a browser renders it.
 */

const SCENARIO_MODULE = pathToFileURL(new URL('./scenario.ts', import.meta.url).pathname).href;
let root: string;
/** The HTML report of the mixed run, for the screenshot test. */
let mixedReport = '';

const passing = `import { defineScenario } from '${SCENARIO_MODULE}';
export default defineScenario({
  id: 'KI-07', name: 'toy-pass', title: 'A plain call works',
  modes: ['loopback'],
  steps: [{ do: 'call', id: 'hello', tool: 'chat_with_gpt41', session: 's1', args: { instructions: 'hello', disable_memory_search: 'true' }, expect: { outcome: 'success' } }],
  provenAgainst: { toy: 'strict-args' },
});
`;

const failing = `import { defineScenario } from '${SCENARIO_MODULE}';
export default defineScenario({
  id: 'KI-04', name: 'toy-fail', title: 'Expects an error that never comes',
  modes: ['loopback'],
  steps: [{ do: 'call', id: 'hello', tool: 'chat_with_gpt41', session: 's2', args: { instructions: 'hello' }, expect: { outcome: 'error' } }],
  provenAgainst: { toy: 'none' },
});
`;

/** Claims to catch the event-loop blocker, but its relaxed bound lets 300 ms stalls through. */
const blind = `import { defineScenario } from '${SCENARIO_MODULE}';
export default defineScenario({
  id: 'KI-06', name: 'toy-miss', title: 'A bound too loose to catch its defect',
  modes: ['loopback'],
  steps: [{ do: 'call', tool: 'chat_with_gpt41', session: 's3', args: { instructions: 'hello' } }],
  rules: { responsive: { maxPingMs: 1000, reason: 'deliberately loose, to show --prove reports a scenario that misses its defect' } },
  provenAgainst: { toy: 'block-loop' },
});
`;

const broken = `import { defineScenario } from '${SCENARIO_MODULE}';
export default defineScenario({
  id: 'KI-09', name: 'broken', title: 'A misspelt step',
  steps: [{ do: 'cal', tool: 'chat_with_gpt41' }],
  provenAgainst: { toy: 'none' },
});
`;

async function scenarioDir(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  return dir;
}

async function chaos(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['chaos', '--server', toyCommand(), '--no-color', ...args], (t) => {
    out += t;
  });
  return { code, out };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sb-chaos-test-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('all scenarios pass: exit code 0, with progress and a summary table', { timeout: patience(20_000) }, async () => {
  const dir = await scenarioDir('pass', { 'KI-07-toy-pass.ts': passing });
  const { code, out } = await chaos(['--scenarios', dir, '--report-dir', join(root, 'rep-pass')]);
  assert.equal(code, 0, out);
  assert.match(out, /\[1\/1\] KI-07-toy-pass \[loopback\]/);
  assert.match(out, /✔ pass KI-07-toy-pass/);
  assert.match(out, /1 passed, 0 failed/);
});

test('one failing scenario: exit code 1, and junit.xml, report.json, index.html and traces are written', { timeout: patience(30_000) }, async () => {
  const dir = await scenarioDir('mixed', { 'KI-07-toy-pass.ts': passing, 'KI-04-toy-fail.ts': failing });
  const reportDir = join(root, 'rep-mixed');
  const { code, out } = await chaos(['--scenarios', dir, '--report-dir', reportDir]);
  // The browser test reads this report whatever the verdicts (a loaded machine can fail a ping bound).
  mixedReport = join(reportDir, 'index.html');
  assert.equal(code, 1, out);
  assert.match(out, /✘ fail KI-04-toy-fail/);
  assert.match(out, /calls: hello: ended error/);
  assert.match(out, /1 passed, 1 failed/);

  const junit = await readFile(join(reportDir, 'junit.xml'), 'utf8');
  assert.equal((junit.match(/<testcase /g) ?? []).length, 2);
  assert.match(junit, /name="KI-04-toy-fail \[loopback\]"[^>]*>\s*<failure/);
  assert.match(junit, /name="KI-07-toy-pass \[loopback\]"/);
  assert.match(junit, /failures="1"/);

  const report = JSON.parse(await readFile(join(reportDir, 'report.json'), 'utf8')) as { summary: { passed: number; failed: number }; scenarios: Array<{ key: string; evidence: { journal: unknown[]; pings: unknown[] }; measurements: unknown[] }> };
  assert.deepEqual(report.summary, { runs: 2, passed: 1, failed: 1, errors: 0, notJudged: 0, skipped: 0 });
  const pass = report.scenarios.find((s) => s.key === 'KI-07-toy-pass')!;
  assert.ok(pass.evidence.journal.length >= 1, 'the journal is in the report');
  assert.ok(pass.evidence.pings.length >= 1, 'ping samples are in the report');

  const html = await readFile(join(reportDir, 'index.html'), 'utf8');
  for (const key of ['KI-07-toy-pass', 'KI-04-toy-fail']) assert.ok(html.includes(key), `index.html names ${key}`);
  assert.match(html, /<svg class="chart"[^>]*aria-label="ping round trips"/);
  assert.match(html, /<svg class="chart"[^>]*aria-label="calls and upstream requests"/);
  assert.doesNotMatch(html, /<script|<link /, 'self-contained: no script, no external stylesheet');
  assert.ok(html.includes('href="traces/KI-07-toy-pass.loopback.html"'), 'a link to the trace page');

  const traces = await readdir(join(reportDir, 'traces'));
  assert.deepEqual(traces.sort(), ['KI-04-toy-fail.loopback.html', 'KI-04-toy-fail.loopback.json', 'KI-07-toy-pass.loopback.html', 'KI-07-toy-pass.loopback.json']);
  const tracePageHtml = await readFile(join(reportDir, 'traces', 'KI-07-toy-pass.loopback.html'), 'utf8');
  assert.match(tracePageHtml, /<title>Trace of KI-07-toy-pass \[loopback\]<\/title>/);
  assert.ok(tracePageHtml.includes('href="../index.html#KI-07-toy-pass-loopback-'), 'the trace page links back to its section');
  const trace = JSON.parse(await readFile(join(reportDir, 'traces', 'KI-07-toy-pass.loopback.json'), 'utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string; traceId: string }> }> }> };
  const spans = trace.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  assert.ok(spans.some((s) => s.name.startsWith('scenario KI-07-toy-pass')), 'the scenario root span');
  assert.ok(spans.some((s) => s.name === 'call chat_with_gpt41'), 'one span per call');
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace');

});

test('a bad scenario file: exit code 2, naming the file and the field', { timeout: patience(10_000) }, async () => {
  const dir = await scenarioDir('bad', { 'KI-07-toy-pass.ts': passing, 'KI-09-broken.ts': broken });
  const { code, out } = await chaos(['--scenarios', dir, '--report-dir', join(root, 'rep-bad')]);
  assert.equal(code, 2, out);
  assert.match(out, /bad scenario file: KI-09-broken\.ts/);
  assert.match(out, /KI-09: invalid scenario/);
  assert.match(out, /steps\[0\]\.do|"do"|do/);
  assert.equal(existsSync(join(root, 'rep-bad', 'junit.xml')), false, 'nothing ran');
});

test('a scenario file named unlike its id, and an --only that matches nothing, are exit code 2', { timeout: patience(10_000) }, async () => {
  const dir = await scenarioDir('misnamed', { 'KI-08-other-name.ts': passing });
  const misnamed = await chaos(['--scenarios', dir]);
  assert.equal(misnamed.code, 2);
  assert.match(misnamed.out, /must be named after its id and name: KI-07-toy-pass\.ts/);
  const none = await chaos(['--scenarios', await scenarioDir('only', { 'KI-07-toy-pass.ts': passing }), '--only', 'KI-99']);
  assert.equal(none.code, 2);
  assert.match(none.out, /No scenario matches --only KI-99/);
  const badOption = await chaos(['--mode', 'sideways']);
  assert.equal(badOption.code, 2);
  assert.match(badOption.out, /--mode takes in-process or loopback/);
});

test('--prove runs each scenario against its defect: caught → exit 0, not caught → exit 1', { timeout: patience(20_000) }, async () => {
  // toy-pass sends "true" for a boolean, which the strict-args toy rejects: caught.
  const caught = await chaos(['--scenarios', await scenarioDir('prove', { 'KI-07-toy-pass.ts': passing }), '--report-dir', join(root, 'rep-prove'), '--prove']);
  assert.equal(caught.code, 0, caught.out);
  assert.match(caught.out, /✔ caught KI-07-toy-pass \[loopback\] against toy strict-args/);
  const missed = await chaos(['--scenarios', await scenarioDir('prove-miss', { 'KI-06-toy-miss.ts': blind }), '--report-dir', join(root, 'rep-miss'), '--prove']);
  assert.equal(missed.code, 1, missed.out);
  assert.match(missed.out, /✘ not caught KI-06-toy-miss/);
  assert.match(await readFile(join(root, 'rep-miss', 'junit.xml'), 'utf8'), /does not catch its defect/);
});

const SCREENSHOTS = fileURLToPath(new URL('../../../reports/screenshots/', import.meta.url));

test('the HTML report and its trace pages in a browser: no console error, no request, charts drawn, links and details work', { timeout: patience(60_000) }, async () => {
  assert.ok(mixedReport, 'the mixed run wrote a report');
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.setDefaultTimeout(10_000);
    const watch = await guardPage(page);
    await page.goto(pathToFileURL(mixedReport).href);
    assert.equal(await page.title(), 'second-brain chaos report');
    assert.equal(await page.getByRole('heading', { level: 2 }).count(), 2, 'a section per scenario run');
    assert.equal(await page.getByRole('img', { name: 'ping round trips' }).count(), 2);
    assert.equal(await page.getByRole('img', { name: 'calls and upstream requests' }).count(), 2);
    assert.ok((await page.locator('svg.chart polyline.rtt').count()) >= 1, 'the ping line is drawn');
    const box = await page.getByRole('img', { name: 'ping round trips' }).first().boundingBox();
    assert.ok(box && box.width > 500 && box.height > 100, `the chart has a size: ${JSON.stringify(box)}`);
    assert.ok(await page.getByRole('link', { name: 'trace of KI-04-toy-fail [loopback]' }).isVisible(), 'the summary links each run to its trace page');

    // The collapsed call list opens on a click.
    const calls = page.getByText(/^Calls \(\d+\)$/).first();
    const table = page.getByRole('table').filter({ hasText: 'progress' }).first();
    assert.equal(await table.isVisible(), false);
    await calls.click();
    assert.ok(await table.isVisible());

    await mkdir(SCREENSHOTS, { recursive: true });
    const png = join(SCREENSHOTS, 'chaos-report.png');
    await page.screenshot({ path: png, fullPage: true });
    assert.ok((await stat(png)).size > 10_000, 'a screenshot with content');

    // The scenario's trace page: a bar per span of its OTLP file, details on click, a way back.
    await page.getByRole('link', { name: 'Trace page of KI-07-toy-pass [loopback]' }).click();
    assert.equal(await page.title(), 'Trace of KI-07-toy-pass [loopback]');
    const otlp = JSON.parse(await readFile(join(mixedReport, '..', 'traces', 'KI-07-toy-pass.loopback.json'), 'utf8')) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> };
    const spanCount = otlp.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans)).length;
    const grid = page.getByRole('treegrid', { name: 'Spans on a time axis' });
    assert.equal(await grid.getByRole('img').count(), spanCount, 'a bar per span');
    assert.equal(await grid.locator('tr.span-row.slowest').count(), 1, 'the slowest span is marked');
    await grid.getByRole('button', { name: 'call chat_with_gpt41', exact: true }).first().click();
    assert.ok(await page.getByRole('region', { name: 'Details of call chat_with_gpt41' }).isVisible());
    await page.screenshot({ path: join(SCREENSHOTS, 'chaos-trace-page.png'), fullPage: true });
    await page.getByRole('link', { name: '← chaos report' }).click();
    assert.equal(await page.title(), 'second-brain chaos report');

    assert.deepEqual(watch.consoleErrors, []);
    assert.deepEqual(watch.pageErrors, []);
    assert.deepEqual(watch.network, []);
    assert.ok(watch.requests.every((u) => u.startsWith('file://')), watch.requests.join(', '));
  } finally {
    await browser.close();
  }
});
