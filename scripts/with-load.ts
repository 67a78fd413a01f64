/**
 * Runs a command with a CPU-burning load beside it: N `node -e` busy loops (default 2,
 * one per core of the target machine), each bounded in time, all ended when the command
 * ends. Used to measure that the chaos suite and the unit tests stay green on a busy
 * machine and still catch every defect.
 *
 *   npm run with-load -- [--burners N] [--max-s S] -- npm run chaos -- --prove
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { DEFAULT_LOAD_BURNERS, startCpuLoad } from '../harness/src/reference/cpu-load.ts';

/** Each busy loop exits by itself after this long, even if this script is killed. */
const DEFAULT_MAX_S = 3_600;

const split = process.argv.indexOf('--');
const own = split === -1 ? process.argv.slice(2) : process.argv.slice(2, split);
const command = split === -1 ? [] : process.argv.slice(split + 1);
const { values } = parseArgs({ args: own, options: { burners: { type: 'string' }, 'max-s': { type: 'string' } }, strict: true });
const burners = Number(values.burners ?? DEFAULT_LOAD_BURNERS);
const maxS = Number(values['max-s'] ?? DEFAULT_MAX_S);
if (!Number.isInteger(burners) || burners < 0 || !(maxS > 0) || command.length === 0) {
  process.stderr.write('usage: npm run with-load -- [--burners N (>= 0)] [--max-s S (> 0)] -- <command …>\n');
  process.exit(2);
}

const load = startCpuLoad({ burners, maxMs: maxS * 1_000 });
process.stderr.write(`with-load: ${burners} busy loop(s) (pids ${load.pids.join(', ')}), each for at most ${maxS} s, beside: ${command.join(' ')}\n`);

const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { child.kill(sig); });
child.on('exit', (code, signal) => {
  load.stop();
  process.exit(code ?? (signal ? 1 : 0));
});
