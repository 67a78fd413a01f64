import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchReportHtml, type BenchReport } from './report-html.ts';

const FIXTURE: BenchReport = {
  quick: true,
  at: '2026-01-01T00:00:00.000Z',
  node: 'v24.0.0',
  benchmarks: [
    {
      name: 'scale',
      title: 'Cost against tree size',
      rows: [
        { case: 'small', figures: { wallMs: { value: 120, unit: 'ms' }, uploads: { value: 3, unit: '{file}' } }, targets: [{ column: 'wallMs', op: '<=', bound: 100, pass: false }] },
        { case: 'large', figures: { wallMs: { value: 900, unit: 'ms' }, uploads: { value: 40, unit: '{file}' } } },
      ],
    },
  ],
};

test('one chart per figure, with an accessible name', () => {
  const html = benchReportHtml(FIXTURE);
  assert.equal(html.match(/role="img"/g)?.length, 2);
  assert.match(html, /aria-label="scale: wallMs per case"/);
  assert.match(html, /aria-label="scale: uploads per case"/);
});

test('the targets table shows a miss with its value and bound', () => {
  const html = benchReportHtml(FIXTURE);
  assert.match(html, /<caption>Targets of scale<\/caption>/);
  assert.match(html, /<td>small<\/td><td>wallMs<\/td><td>120<\/td><td>&lt;= 100<\/td><td><strong>missed<\/strong><\/td>/);
  assert.match(html, /Node v24\.0\.0; quick run/);
});
