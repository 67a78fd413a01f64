import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineChart } from './line-chart.ts';
import { niceAxis } from './axis.ts';

const points = (svg: string) => [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="3.5" class="point s\d"><title>([^<]*)</g)]
  .map((m) => ({ x: Number(m[1]), y: Number(m[2]), title: m[3]! }));

test('a point per size: x follows the size, y follows the cost, both from zero', () => {
  const svg = lineChart({
    label: 'scale: wall s against files', xLabel: 'files', yLabel: 'wall s',
    reference: { value: 60, label: 'target < 60' },
    series: [
      { name: 'tiny', points: [{ x: 50_000, y: 20 }, { x: 1_000, y: 2 }, { x: 10_000, y: 4 }] },
      { name: 'mixed', points: [{ x: 1_000, y: 6 }] },
    ],
  });
  assert.match(svg, /^<svg class="chart line-chart"[^>]*role="img" aria-label="scale: wall s against files"/);
  const p = points(svg);
  assert.equal(p.length, 4);
  const [a, b, c, mixed] = p; // sorted by x within a series
  assert.ok(a!.x < b!.x && b!.x < c!.x, 'x grows with the size');
  assert.ok(a!.y > b!.y && b!.y > c!.y, 'a larger cost sits higher (smaller y)');
  assert.equal(mixed!.x, a!.x, 'the same size, the same x');
  assert.ok(mixed!.y < a!.y, 'the larger cost of the same size sits higher');
  // Proportional spacing from zero: 10,000 is ten times as far from the y axis as 1,000.
  const x0 = 52;
  assert.ok(Math.abs((b!.x - x0) / (a!.x - x0) - 10) < 0.1, `x from zero: ${a!.x}, ${b!.x}`);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 1, 'a line only where a series has two points');
  assert.match(svg, /class="reference"><title>target &lt; 60<\/title>/);
  assert.match(svg, /class="sub">mixed<\/text>/, 'a legend for two series');
  assert.match(p[0]!.title, /^tiny: 2 wall s at 1,000 files$/);
});

test('niceAxis: a round range around the values, from zero when asked', () => {
  assert.deepEqual(niceAxis([1.08, 1.19, 1.03], false), { lo: 1, hi: 1.2, ticks: [1, 1.05, 1.1, 1.15, 1.2] });
  assert.deepEqual(niceAxis([120, 480], true).ticks, [0, 100, 200, 300, 400, 500]);
  assert.deepEqual(niceAxis([7], true).ticks, [0, 2, 4, 6, 8]);
  const one = niceAxis([5], false);
  assert.ok(one.lo < 5 && one.hi > 5, 'a single value sits inside its range');
});
