import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatherFiles } from './src/context/gather.ts';
import { closeContextWorkers, contextDiagnostics, countFileTokens } from './src/context/index.ts';
const root = mkdtempSync(join(tmpdir(), 'sb-loop-'));
for (let i = 0; i < 20000; i++) {
  const dir = join(root, `pkg${i % 20}`, `mod${Math.floor(i / 20) % 10}`);
  if (i < 200) mkdirSync(dir, { recursive: true });
  const lines = [`// file ${i}`, `import { helper${i % 97} } from '../shared/helper-${i % 31}.ts';`];
  for (let l = 0; l < 20 + (i % 40); l++) lines.push(`export function fn${i}_${l}(value${l}: number): number { return helper${i % 97}(value${l} * ${(i * 31 + l) % 1009}); }`);
  writeFileSync(join(dir, `file-${i}.ts`), lines.join('\n') + '\n');
}
execFileSync('sync');
let phase = 'control';
const T0 = performance.now(); let last = T0; let lastCpu = process.threadCpuUsage(); const maxBy: Record<string, number> = {};
const iv = setInterval(() => { const now = performance.now(); const cpu = process.threadCpuUsage(); const used = (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000; const lag = now - last - 5; maxBy[phase] = Math.max(maxBy[phase] ?? 0, lag);
  if (lag > 25) { const w = contextDiagnostics().workers; process.stderr.write(`lag ${lag.toFixed(0)} at ${(now - T0).toFixed(0)} ${phase} main cpu ${used.toFixed(1)} pause text ${w.text.pauseMs} reader ${w.reader.pauseMs} load ${loadavg()[0]}\n`); }
  last = now; lastCpu = cpu; }, 5);
await new Promise((r) => setTimeout(r, 3000));
phase = 'gather';
const g = await gatherFiles({ paths: ['.'], roots: [root], signal: AbortSignal.timeout(45_000) });
phase = 'tokens';
await countFileTokens(g.files, 'o200k', AbortSignal.timeout(45_000));
phase = 'control2';
await new Promise((r) => setTimeout(r, 3000));
clearInterval(iv);
process.stderr.write(JSON.stringify(maxBy) + ' raises ' + contextDiagnostics().workers.text.pauseRaises + '\n');
await closeContextWorkers(); rmSync(root, { recursive: true, force: true });
