import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchReportHtml, sizeOf, type BenchReport } from './report-html.ts';
import { roundsBenchmark } from './registry.ts';
import { medianTarget, roundsSpread, target } from './stats.ts';
import type { BenchOptions, BenchRow } from './types.ts';
import { patience } from '../reference/patience.ts';

const OPTIONS: BenchOptions = { quick: true, log: () => {}, repoRoot: '.', signal: AbortSignal.timeout(patience(10_000)) };

/** Rows as `roundsBenchmark` makes them from a result with three rounds. */
async function roundRows(): Promise<BenchRow[]> {
  const b = roundsBenchmark('stdio', 'chat over stdio', async () => ({
    name: 'stdio-overhead',
    rounds: [{ ratio: 1.1 }, { ratio: 1.3 }, { ratio: 1.05 }],
    summary: { sb_p50_ms: 61.7, ratio: '1.1 [1.05–1.3]' },
    targets: [medianTarget('chat p50 vs direct SDK call', [1.1, 1.3, 1.05], '<=', 1.03, '×'), medianTarget('loop p99 ms', [90, 110], '<=', 20, 'ms')],
    spreads: [roundsSpread('server CPU per call', [0.4, 0.5, 0.45], '×')],
  }));
  return b.run(OPTIONS);
}

const scaleRow = (c: string, wall: number, uploads: number, rss: number, wallTarget?: number): BenchRow => ({
  case: c,
  figures: { 'tree MB': { value: 0.1, unit: 'MB' }, 'wall s': { value: wall, unit: 's' }, uploads: { value: uploads, unit: '' }, 'peak RSS MB': { value: rss, unit: 'MB' } },
  targets: [{ column: 'peak RSS MB', op: '<=', bound: 600, pass: rss <= 600 }, ...(wallTarget ? [{ column: 'wall s', op: '<' as const, bound: wallTarget, pass: wall < wallTarget }] : [])],
});

async function fixture(): Promise<BenchReport> {
  return {
    quick: true, at: '2026-01-01T00:00:00.000Z', node: 'v24.0.0',
    benchmarks: [
      { name: 'stdio', title: 'chat over stdio', rows: await roundRows() },
      { name: 'rss', title: 'RSS', rows: await roundsBenchmark('rss', 'RSS', async () => ({ name: 'rss', rounds: [], summary: { calls: 1000 }, targets: [{ ...target('RSS over idle, MB', 336, '<=', 100), unit: 'MB' }] })).run(OPTIONS) },
      { name: 'scale', title: 'Cost against tree size', rows: [scaleRow('1,000 tiny', 2, 1, 300), scaleRow('10,000 tiny', 3, 1, 330), scaleRow('50,000 tiny', 6, 2, 500, 60), scaleRow('1,000 mixed', 6, 1, 290), scaleRow('10,000 mixed', 98, 3, 650)] },
    ],
  };
}

test('round-based rows keep every round, their unit and their targets', async () => {
  const rows = await roundRows();
  const first = rows.find((r) => r.case === 'target: chat p50 vs direct SDK call')!;
  assert.deepEqual(first.rounds, [1.1, 1.3, 1.05]);
  assert.deepEqual(first.figures.value, { value: 1.1, unit: '×' });
  assert.deepEqual(first.targets, [{ column: 'value', op: '<=', bound: 1.03, pass: false }]);
  const cpu = rows.find((r) => r.case === 'server CPU per call')!;
  assert.deepEqual([cpu.rounds, cpu.figures.value?.value, cpu.note], [[0.4, 0.5, 0.45], 0.45, '0.45 [0.4–0.5]']);
  assert.equal(rows.find((r) => r.case === 'sb_p50_ms')?.rounds, undefined);
});

test('ratios are drawn per round against their target; other units apart; summary figures in a table', async () => {
  const html = benchReportHtml(await fixture());
  assert.match(html, /aria-label="stdio: ratios against the anchor, per round"/);
  assert.match(html, /aria-label="stdio: ms per round"/);
  const ratios = /<svg class="chart spread-chart"[^>]*aria-label="stdio: ratios[^"]*">([\s\S]*?)<\/svg>/.exec(html)![1]!;
  assert.equal(ratios.match(/class="dot"/g)?.length, 6, 'a dot per round of both ratios');
  assert.equal(ratios.match(/class="whisker"/g)?.length, 2);
  assert.equal(ratios.match(/class="target"/g)?.length, 1, 'the judged ratio has its target line; the other has none');
  assert.match(ratios, /class="anchor"/);
  assert.match(html, /<caption>Figures of stdio<\/caption>.*<td>sb_p50_ms<\/td><td class="num">61\.7<\/td>/);
  assert.match(html, /<td>target: chat p50 vs direct SDK call<\/td><td>value<\/td><td class="num">1\.1 ×<\/td><td class="num">1\.05–1\.3 \(3\)<\/td><td>&lt;= 1\.03<\/td><td><strong>missed<\/strong><\/td>/);
  assert.match(html, /aria-label="rss: RSS over idle, MB"/, 'a judged figure without rounds: a bar against its bound');
  assert.match(html, /Node v24\.0\.0; quick run/);
});

test('scale rows: a chart per figure against the number of files, a line per kind of tree', async () => {
  const html = benchReportHtml(await fixture());
  for (const c of ['tree MB', 'wall s', 'uploads', 'peak RSS MB']) assert.match(html, new RegExp(`aria-label="scale: ${c} against files"`));
  const rss = /aria-label="scale: peak RSS MB against files">([\s\S]*?)<\/svg>/.exec(html)![1]!;
  assert.equal(rss.match(/<polyline /g)?.length, 2, 'tiny and mixed');
  assert.equal(rss.match(/<circle cx="[^"]+" cy="[^"]+" r="3.5" class="point/g)?.length, 5, 'a point per case');
  assert.match(rss, /class="reference"><title>target &lt;= 600<\/title>/);
  assert.match(html, /target &lt; 60 \(50,000 tiny\)/, 'a bound only some cases are held to says which');
  assert.match(html, /50,000 tiny: 6 s \(tree 0\.1 MB\)/);
  assert.deepEqual([sizeOf({ case: '50,000 mixed', figures: {} }), sizeOf({ case: 'small', figures: {} })], [{ files: 50_000, series: 'mixed' }, undefined]);
});

test('cases without a size: a bar chart per figure', () => {
  const html = benchReportHtml({
    quick: false, at: 'x', node: 'v24', benchmarks: [{ name: 'misc', title: 't', rows: [
      { case: 'small', figures: { wallMs: { value: 120, unit: 'ms' } }, targets: [{ column: 'wallMs', op: '<=', bound: 100, pass: false }] },
      { case: 'large', figures: { wallMs: { value: 900, unit: 'ms' } } },
    ] }],
  });
  assert.equal(html.match(/role="img"/g)?.length, 1);
  assert.match(html, /aria-label="misc: wallMs per case"/);
});
