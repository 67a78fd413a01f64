/**
 * Runs one benchmark module and prints its result as JSON on stdout.
 *
 *   node harness/src/bench/run-one.ts harness/src/bench/http-load.ts [--quick]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchRun } from './types.ts';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  process.stderr.write('usage: node harness/src/bench/run-one.ts <module.ts> [--quick]\n');
  process.exit(2);
}
const mod = await import(pathToFileURL(resolve(file)).href) as { run?: BenchRun };
if (typeof mod.run !== 'function') {
  process.stderr.write(`${file} exports no run(opts)\n`);
  process.exit(2);
}
const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted')));
const result = await mod.run({ quick: args.includes('--quick'), signal: controller.signal, log: (line) => process.stderr.write(`${line}\n`) });
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
for (const t of result.targets) process.stderr.write(`${t.met ? 'met ' : 'MISS'} ${t.name}: ${t.value} (${t.op} ${t.bound})\n`);
