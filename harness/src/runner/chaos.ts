import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nowMs } from '../driver/clock.ts';
import { ConsoleReporter, labelOf } from './console-reporter.ts';
import { loadScenarios, ScenarioLoadError } from './load.ts';
import type { LoadedScenario } from './load.ts';
import { OtlpReceiver } from './otlp-receiver.ts';
import { writeReports } from './reports.ts';
import { asExpected, notJudged, runScenario } from './run-scenario.ts';
import { MAX_JUDGING_ATTEMPTS, REFERENCE_BUSY_LIMIT_MS } from '../reference/defaults.ts';
import { strictJudgingFromEnv } from '../reference/settings.ts';
import type { ScenarioResult } from './run-scenario.ts';
import type { Mode, Scenario } from './scenario.ts';
import { isToyBreak, toyCommand } from '../toys/toy-command.ts';

/**
 * A chaos run: load the scenarios, run them one after another (the target machine has
 * two cores; parallel runs would measure each other), print progress and a summary,
 * write the reports. Exit code: 0 all passed, 1 any failed, 2 a scenario file is bad.
 */

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ChaosOptions {
  /** Default `<repo>/scenarios`. */
  scenariosDir?: string;
  /** Default `<repo>/reports/chaos`. */
  reportDir?: string;
  only?: string[];
  seed?: number;
  /** Run each scenario this many times. Default 1. */
  repeat?: number;
  /** Run only this mode (scenarios without it are skipped). Default: each scenario's own modes. */
  mode?: Mode;
  /** Shell command line of the server under test. */
  server?: string;
  /** Working directory of the server command. Default: the repo root. */
  cwd?: string;
  /** SECOND_BRAIN_TEST_DEFECTS for the server. */
  defects?: string[];
  /**
   * Run each scenario against what it was proven against (its defect switch, or its toy
   * server) instead, and count it as passing only when it fails there.
   */
  prove?: boolean;
  /** Collect telemetry over OTLP/HTTP JSON. Default true. */
  telemetry?: boolean;
  keepWorkDirs?: boolean;
  write?: (text: string) => void;
  color?: boolean;
  /** The command line, for the reports. */
  command?: string;
  /**
   * Fail the run when a scenario could never be judged (the machine too busy every time).
   * Default: the SB_STRICT_JUDGING environment variable (`1`/`true`), else false.
   */
  strictJudging?: boolean;
  /** Runs of a scenario while the machine is too busy to judge it. Default MAX_JUDGING_ATTEMPTS (3). */
  judgingAttempts?: number;
  /** The reference's own figure over which the machine is too busy to judge. Default REFERENCE_BUSY_LIMIT_MS (50 ms). */
  busyLimitMs?: number;
}

export { strictJudgingFromEnv };

export interface ChaosOutcome {
  exitCode: 0 | 1 | 2;
  results: ScenarioResult[];
  skipped: Array<{ label: string; why: string }>;
  reportFiles: string[];
}

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosOutcome> {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const reporter = new ConsoleReporter({ write, color: options.color ?? false });
  const scenariosDir = resolve(options.scenariosDir ?? resolve(REPO_ROOT, 'scenarios'));
  const reportDir = resolve(options.reportDir ?? resolve(REPO_ROOT, 'reports/chaos'));
  const started = nowMs();
  let loaded: LoadedScenario[];
  try {
    loaded = await loadScenarios(scenariosDir, options.only ?? []);
  } catch (error) {
    if (!(error instanceof ScenarioLoadError)) throw error;
    write(`chaos: bad scenario file: ${error.message}\n`);
    return { exitCode: 2, results: [], skipped: [], reportFiles: [] };
  }
  if (loaded.length === 0) {
    write(`chaos: no scenario files (KI-xx-<name>.ts) in ${scenariosDir}\n`);
    return { exitCode: 2, results: [], skipped: [], reportFiles: [] };
  }
  const plan: Array<{ loaded: LoadedScenario; mode: Mode; proof?: Proof }> = [];
  const skipped: Array<{ label: string; why: string }> = [];
  for (const l of loaded) {
    const modes = options.mode ? l.scenario.modes.filter((m) => m === options.mode) : l.scenario.modes;
    if (modes.length === 0) skipped.push({ label: `${l.scenario.id}-${l.scenario.name} [${options.mode}]`, why: `runs only in ${l.scenario.modes.join(', ')}` });
    const proof = options.prove ? proofFor(l.scenario) : undefined;
    if (options.prove && !proof) {
      skipped.push({ label: `${l.scenario.id}-${l.scenario.name}`, why: `no runnable defect to prove it against (${JSON.stringify(l.scenario.provenAgainst)})` });
      continue;
    }
    for (const mode of modes) plan.push({ loaded: l, mode, ...(proof ? { proof } : {}) });
  }
  const repeat = Math.max(1, options.repeat ?? 1);
  const strict = options.strictJudging ?? strictJudgingFromEnv();
  const attempts = Math.max(1, options.judgingAttempts ?? MAX_JUDGING_ATTEMPTS);
  const busyLimitMs = options.busyLimitMs ?? REFERENCE_BUSY_LIMIT_MS;
  const total = plan.length * repeat;
  const otlp = options.telemetry === false ? undefined : await OtlpReceiver.start();
  const results: ScenarioResult[] = [];
  let index = 0;
  try {
    for (const { loaded: l, mode, proof } of plan) {
      for (let r = 0; r < repeat; r++) {
        index += 1;
        reporter.started(`${labelOf({ key: `${l.scenario.id}-${l.scenario.name}`, mode, ...(proof ? { proof: proof.label } : {}) })}${repeat > 1 ? ` (run ${r + 1}/${repeat})` : ''}`, index, total);
        const server = proof?.server ?? options.server;
        const defects = [...(options.defects ?? []), ...(proof?.defects ?? [])];
        const runOnce = () =>
          runScenario(l.scenario, {
            mode,
            busyLimitMs,
            ...(server ? { serverCommand: server } : {}),
            ...(options.cwd ? { cwd: options.cwd } : {}),
            ...(defects.length ? { defects } : {}),
            ...(proof ? { proof: proof.label } : {}),
            ...(options.seed !== undefined ? { seed: options.seed } : {}),
            ...(otlp ? { otlp } : {}),
            ...(options.keepWorkDirs ? { keepWorkDir: true } : {}),
          });
        const result = await runUntilJudged(runOnce, attempts, (r, attempt) => reporter.busy(r, attempt, attempts));
        reporter.finished(result);
        results.push(result);
      }
    }
  } finally {
    await otlp?.close();
  }
  for (const s of skipped) reporter.skipped(s.label, s.why);
  const totalMs = nowMs() - started;
  const reportFiles = await writeReports(reportDir, results, skipped, {
    command: options.command ?? 'chaos',
    generatedAt: new Date().toISOString(),
    totalMs: Math.round(totalMs),
    options: { only: options.only ?? [], seed: options.seed ?? null, repeat, mode: options.mode ?? null, server: options.server ?? null, defects: options.defects ?? [] },
  });
  reporter.summary(results, skipped.map((s) => s.label), totalMs, reportDir, strict);
  return { exitCode: exitCodeFor(results, strict), results, skipped, reportFiles };
}

/** 1 when any run came out otherwise than it should; a run not judged counts only when strict. */
export function exitCodeFor(results: ReadonlyArray<Pick<ScenarioResult, 'verdict' | 'proof'>>, strict: boolean): 0 | 1 {
  return results.some((r) => !asExpected(r) && (strict || !notJudged(r))) ? 1 : 0;
}

/**
 * Runs a scenario again while the machine is too busy to judge it, at most `attempts`
 * times in all, and records on the result how many runs it took and why each was not
 * judged. `onBusy` hears of each new attempt (its number) before it starts.
 */
export async function runUntilJudged(
  runOnce: () => Promise<ScenarioResult>,
  attempts: number,
  onBusy: (result: ScenarioResult, attempt: number) => void = () => {},
): Promise<ScenarioResult> {
  let result = await runOnce();
  const busy: string[] = [];
  let attempt = 1;
  while (notJudged(result) && attempt < attempts) {
    busy.push(busyOf(result));
    attempt += 1;
    onBusy(result, attempt);
    result = await runOnce();
  }
  if (notJudged(result)) busy.push(busyOf(result));
  result.judging = { attempts: attempt, busy };
  return result;
}

/** Why a run was not judged, from its measurements' notes. */
function busyOf(r: ScenarioResult): string {
  const m = r.measurements.find((x) => x.verdict === 'not-judged');
  return /machine too busy: ([^)]*)\)/.exec(m?.note ?? '')?.[1] ?? 'machine too busy';
}

interface Proof {
  label: string;
  server?: string;
  defects?: string[];
}

/** How to run a scenario against what it was proven against, or undefined when that cannot be run here. */
function proofFor(scenario: Scenario): Proof | undefined {
  const p = scenario.provenAgainst;
  if ('defect' in p) return { label: `defect ${p.defect}`, defects: [p.defect] };
  if (isToyBreak(p.toy)) return { label: `toy ${p.toy}`, server: toyCommand(p.toy) };
  return undefined;
}
