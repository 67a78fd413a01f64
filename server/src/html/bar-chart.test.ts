import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChart, niceStep } from './bar-chart.ts';

test('a bar per figure, a whisker per spread, a reference line, an accessible name', () => {
  const svg = barChart({
    label: 'median call, ratio to the anchor', unit: '×', reference: { value: 1, label: 'anchor' },
    bars: [{ label: 'gpt-4.1', value: 1.08, low: 1.01, high: 1.2 }, { label: 'o3 <fast>', value: 0.7, tone: 'good' }],
  });
  assert.match(svg, /^<svg class="chart bar-chart"[^>]*role="img" aria-label="median call, ratio to the anchor"/);
  assert.equal((svg.match(/<rect [^>]*class="bar /g) ?? []).length, 2);
  assert.equal((svg.match(/class="spread"/g) ?? []).length, 3, 'one whisker: a line and two caps');
  assert.match(svg, /class="reference"><title>anchor: 1 ×<\/title>/);
  assert.ok(svg.includes('o3 &lt;fast&gt;'));
  assert.match(svg, /class="bar good"/);
  const widths = [...svg.matchAll(/<rect [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.ok(widths[0]! > widths[1]!, `longer bar for the larger value: ${widths.join(', ')}`);
});

test('niceStep rounds to 1, 2 or 5 times a power of ten', () => {
  assert.deepEqual([0.3, 7, 12, 180, 4_100].map(niceStep), [0.5, 10, 20, 200, 5_000]);
});
