/**
 * The harness command line.
 *
 *   node harness/src/cli.ts chaos [options]        run the chaos scenarios (npm run chaos)
 *   node harness/src/cli.ts fake-openai --port N   serve the fake provider APIs on 127.0.0.1
 *   node harness/src/cli.ts bench [--quick]        run the benchmarks (npm run bench)
 *   node harness/src/cli.ts --help
 */
import { parseArgs } from 'node:util';
import { MODES } from './runner/scenario.ts';
import type { Mode } from './runner/scenario.ts';
import { parseOnly } from './runner/load.ts';
import { runChaos, strictJudgingFromEnv } from './runner/chaos.ts';

const USAGE = `usage: node harness/src/cli.ts <command> [options]

commands:
  chaos                 run every scenario in scenarios/ against the server; exit 0 when all
                        pass, 1 when any fails, 2 when a scenario file is invalid
  fake-openai           serve the fake OpenAI, xAI and Gemini APIs on 127.0.0.1
  bench                 run the benchmarks; a table per benchmark on stdout and
                        reports/bench/bench.json; exit 1 when a target is missed
                        (not with --quick, whose runs are too short to judge)

chaos options:
  --only ID             run only these scenarios: an id (KI-07) or a full name
                        (KI-07-string-booleans); repeatable or comma-separated
  --seed N              seed of the fake API (ids, jitter, latency distributions)
  --repeat N            run each scenario N times (default 1)
  --mode MODE           in-process | loopback: run only this mode
  --server "CMD"        the MCP server command line (default: node server/src/main.ts);
                        any stdio MCP server works
  --defect NAME         pass SECOND_BRAIN_TEST_DEFECTS=NAME to the server (repeatable or
                        comma-separated), to see a scenario fail against its defect
  --prove               run each scenario against what it was proven against (its defect
                        switch or toy server) instead; it passes only if the scenario fails
  --report-dir DIR      where reports go (default reports/chaos)
  --scenarios DIR       where scenarios are (default scenarios)
  --keep                keep each scenario's temp dir (state, project) for inspection
  --no-telemetry        do not start the OTLP receiver
  --no-color            plain console output
  --strict-judging      fail the run when a scenario could never be judged because the
                        machine was too busy (default: SB_STRICT_JUDGING=1, else off)
  --busy-limit-ms N     the reference process's own ping or event-loop max over which the
                        machine is too busy to judge plainly (default 50)
  --judging-attempts N  runs of a scenario while the machine is too busy (default 3)

bench options:
  --quick               the small cases only, a few seconds per benchmark (CI)
  --only NAME           run only this benchmark (repeatable or comma-separated):
                        stdio, http, memory, rss, scale
  --case TEXT           run only the cases whose label contains TEXT, e.g. "50,000 tiny"
  --report-dir DIR      where bench.json goes (default reports/bench)

fake-openai options:
  --port N              port on 127.0.0.1 (default: any free port)
  --config FILE         fake config, JSON or YAML (faults, account, seeded state)
  --seed N
`;

export async function main(argv: string[], write: (text: string) => void = (t) => void process.stdout.write(t)): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'fake-openai') {
    const { runFakeOpenAiCli } = await import('./node/fake-openai-cli.ts');
    return runFakeOpenAiCli(rest);
  }
  if (command === 'bench') return runBenchCli(rest, write);
  if (command !== 'chaos') {
    write(`Unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        only: { type: 'string', multiple: true },
        seed: { type: 'string' },
        repeat: { type: 'string' },
        mode: { type: 'string' },
        server: { type: 'string' },
        defect: { type: 'string', multiple: true },
        prove: { type: 'boolean' },
        'report-dir': { type: 'string' },
        scenarios: { type: 'string' },
        keep: { type: 'boolean' },
        'no-telemetry': { type: 'boolean' },
        'no-color': { type: 'boolean' },
        'strict-judging': { type: 'boolean' },
        'busy-limit-ms': { type: 'string' },
        'judging-attempts': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    write(`chaos: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    write(USAGE);
    return 0;
  }
  const integer = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`--${name} takes a whole number >= ${min}, got "${v}"`);
    return n;
  };
  let seed: number | undefined;
  let repeat: number | undefined;
  let busyLimitMs: number | undefined;
  let judgingAttempts: number | undefined;
  let strictJudging: boolean;
  try {
    seed = integer('seed', values.seed, 0);
    repeat = integer('repeat', values.repeat, 1);
    busyLimitMs = integer('busy-limit-ms', values['busy-limit-ms'], 1);
    judgingAttempts = integer('judging-attempts', values['judging-attempts'], 1);
    strictJudging = values['strict-judging'] ?? strictJudgingFromEnv();
    if (values.mode !== undefined && !(MODES as readonly string[]).includes(values.mode)) throw new RangeError(`--mode takes ${MODES.join(' or ')}, got "${values.mode}"`);
  } catch (error) {
    write(`chaos: ${(error as Error).message}\n`);
    return 2;
  }
  const outcome = await runChaos({
    only: parseOnly(values.only ?? []),
    ...(seed !== undefined ? { seed } : {}),
    ...(repeat !== undefined ? { repeat } : {}),
    ...(values.mode ? { mode: values.mode as Mode } : {}),
    ...(values.server ? { server: values.server } : {}),
    defects: parseOnly(values.defect ?? []),
    prove: values.prove ?? false,
    ...(values['report-dir'] ? { reportDir: values['report-dir'] } : {}),
    ...(values.scenarios ? { scenariosDir: values.scenarios } : {}),
    keepWorkDirs: values.keep ?? false,
    strictJudging,
    ...(busyLimitMs !== undefined ? { busyLimitMs } : {}),
    ...(judgingAttempts !== undefined ? { judgingAttempts } : {}),
    telemetry: !values['no-telemetry'],
    color: !values['no-color'] && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
    write,
    command: `chaos ${rest.join(' ')}`.trim(),
  });
  return outcome.exitCode;
}

async function runBenchCli(rest: string[], write: (text: string) => void): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: rest, strict: true, allowPositionals: false,
      options: { quick: { type: 'boolean' }, case: { type: 'string' }, only: { type: 'string', multiple: true }, 'report-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    write(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    write(USAGE);
    return 0;
  }
  const { runBench } = await import('./bench/run-bench.ts');
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    return await runBench({
      quick: values.quick ?? false,
      ...(values.case ? { filter: values.case } : {}),
      only: (values.only ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean),
      reportDir: values['report-dir'] ?? 'reports/bench',
      repoRoot: process.cwd(),
      write,
      log: (line) => void process.stderr.write(`${line}\n`),
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', stop);
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
