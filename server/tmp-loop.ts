import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatherFiles } from './src/context/gather.ts';
import { closeContextWorkers, countTokens } from './src/context/index.ts';
const FILES = 20_000;
const root = mkdtempSync(join(tmpdir(), 'sb-loop-'));
for (let i = 0; i < FILES; i++) {
  const dir = join(root, `pkg${i % 20}`, `mod${Math.floor(i / 20) % 10}`);
  if (i < 200) mkdirSync(dir, { recursive: true });
  const lines = [`// file ${i}`];
  for (let l = 0; l < 20 + (i % 40); l++) lines.push(`export function fn${i}_${l}(value${l}: number): number { return helper${i % 97}(value${l} * ${(i * 31 + l) % 1009}); }`);
  writeFileSync(join(dir, `file-${i}.ts`), lines.join('\n') + '\n');
}
let phase = 'idle';
const t0 = performance.now();
let last = performance.now();
const iv = setInterval(() => { const now = performance.now(); const lag = now - last - 5; if (lag > 15) process.stderr.write(`lag ${lag.toFixed(1)}ms at ${(now - t0).toFixed(0)}ms phase ${phase}\n`); last = now; }, 5);
phase = 'gather';
const g = await gatherFiles({ paths: ['.'], roots: [root], signal: AbortSignal.timeout(45_000) });
process.stderr.write(`gather done ${(performance.now() - t0).toFixed(0)}\n`);
phase = 'tokens';
await countTokens(g.files.map((f) => f.text!), 'o200k', AbortSignal.timeout(45_000));
process.stderr.write(`tokens done ${(performance.now() - t0).toFixed(0)}\n`);
clearInterval(iv);
await closeContextWorkers();
rmSync(root, { recursive: true, force: true });
