import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spreadChart } from './spread-chart.ts';

const cx = (svg: string) => [...svg.matchAll(/<circle cx="([\d.]+)"[^>]*class="dot"/g)].map((m) => Number(m[1]));

test('a dot per round placed by its value, a whisker where rounds spread, the target across its row', () => {
  const svg = spreadChart({
    label: 'stdio: ratios against the anchor', unit: '×', reference: { value: 1, label: 'anchor' },
    rows: [
      { label: 'chat p50 <vs> SDK', rounds: [1.1, 1.3, 1.05], value: 1.1, target: { op: '<=', bound: 1.03, pass: false } },
      { label: 'one round', rounds: [0.9], value: 0.9 },
    ],
  });
  assert.match(svg, /^<svg class="chart spread-chart"[^>]*role="img" aria-label="stdio: ratios against the anchor"/);
  const xs = cx(svg);
  assert.equal(xs.length, 4, 'a dot per round');
  assert.ok(xs[1]! > xs[0]! && xs[0]! > xs[2]! && xs[2]! > xs[3]!, `dots follow their values: ${xs.join(', ')}`);
  assert.equal((svg.match(/class="whisker"/g) ?? []).length, 1, 'a whisker only where there are two rounds or more');
  const whisker = /<g class="whisker">.*?<line x1="([\d.]+)"[^>]*x2="([\d.]+)"/.exec(svg)!;
  assert.deepEqual([Number(whisker[1]), Number(whisker[2])], [xs[2], xs[1]], 'the whisker runs from the lowest round to the highest');
  assert.match(svg, /class="target"><title>target &lt;= 1\.03 ×<\/title>/);
  assert.match(svg, /class="median bad"/);
  assert.match(svg, /class="anchor"><title>anchor: 1 ×<\/title>/);
  assert.ok(svg.includes('chat p50 &lt;vs&gt; SDK'));
  assert.match(svg, /1\.1 × \[1\.05–1\.3\], target &lt;= 1\.03 missed/);
});
