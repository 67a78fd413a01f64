import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nowMs, sleep } from '../driver/clock.ts';
import { Driver } from '../driver/driver.ts';
import { DirectFakeLink, HttpFakeLink } from '../driver/fake-link.ts';
import type { FakeLink } from '../driver/fake-link.ts';
import { generateFileTree } from '../driver/file-tree.ts';
import type { FileTree } from '../driver/file-tree.ts';
import { newSpanId, newTraceId } from '../driver/trace-context.ts';
import { DEFAULT_ACCOUNT_LIMITS, DEFAULT_BASE_URLS, parseFakeConfig } from '../fake/index.ts';
import type { StateSnapshot } from '../fake/index.ts';
import { warmSpecCheck } from '../fake/spec-check.ts';
import { startLoopbackFake } from '../node/loopback.ts';
import {
  ALIVE_CALL_ID,
  aliveProbe,
  boundedProbe,
  callsProbe,
  cancellationProbe,
  dataProbe,
  info,
  judged,
  leaksProbe,
  recoveryProbe,
  responsivenessProbe,
  secretsProbe,
  specProbe,
} from '../probes/index.ts';
import type { Evidence, Measurement } from '../probes/index.ts';
import { flattenSpans, toResourceSpans } from './otlp-receiver.ts';
import type { FlatSpan, OtlpReceiver, ResourceSpans } from './otlp-receiver.ts';
import { ReferenceProcess } from '../reference/reference-process.ts';
import type { ReferenceWindow } from '../reference/reference-process.ts';
import { REFERENCE_BUSY_LIMIT_MS } from '../reference/defaults.ts';
import { busyReason } from '../reference/judging.ts';
import { scenarioKey } from './scenario.ts';
import type { Mode, Scenario } from './scenario.ts';
import { StepRunner, prepareSteps } from './steps.ts';
import { patience } from '../reference/patience.ts';

/**
 * Runs one scenario in one mode: a temp state dir, the fake (preloaded into the server,
 * or on loopback), the server under a real MCP client, the steps under a hard timeout,
 * then the post-scenario checks and every probe. Never throws for a failing server: the
 * result says what failed.
 */

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PRELOAD = fileURLToPath(new URL('../node/preload.ts', import.meta.url));

/** The server under test unless `--server` says otherwise. */
export function defaultServerCommand(): string {
  return `${process.execPath} server/src/main.ts`;
}

/** Default post-scenario call: a plain question with no context, every fault cleared. */
const DEFAULT_ALIVE = { tool: 'chat_with_gpt41', args: { instructions: 'Reply with OK.', session_id: 'chaos-alive-check' } };
const ALIVE_TIMEOUT_MS = 20_000;
/** How long the checks wait for calls the scenario left running. */
const SETTLE_MS = 5_000;

export interface RunScenarioOptions {
  mode: Mode;
  /** Shell command line of the server. Default: this repo's server under the current Node. */
  serverCommand?: string;
  /** Working directory of the server command. Default: the repo root. */
  cwd?: string;
  /** Passed as SECOND_BRAIN_TEST_DEFECTS. */
  defects?: string[];
  /** Overrides the fake's seed. */
  seed?: number;
  otlp?: OtlpReceiver;
  /** Keep the temp dir (state, project, logs) for inspection. */
  keepWorkDir?: boolean;
  /** This run is against the scenario's known defect and is expected to fail; names the defect. */
  proof?: string;
  /**
   * Run a reference process beside the server and judge latencies on the server's excess
   * over it. Default true.
   */
  reference?: boolean;
  /** The reference's own figure over which the machine is too busy to judge. Default REFERENCE_BUSY_LIMIT_MS (50 ms). */
  busyLimitMs?: number;
}

/** `not-judged`: only latency figures missed, while the machine itself was too busy to tell (see reference/). */
export type ScenarioVerdict = 'pass' | 'fail' | 'error' | 'not-judged';

export interface ScenarioResult {
  key: string;
  id: string;
  name: string;
  title: string;
  mode: Mode;
  timeScale: number;
  verdict: ScenarioVerdict;
  startedAt: string;
  durationMs: number;
  measurements: Measurement[];
  /** Set when the run could not complete (setup failed, a step threw, the hard timeout fired). */
  error?: string;
  provenAgainst: Scenario['provenAgainst'];
  serverCommand: string;
  defects: string[];
  evidence: Evidence;
  /** The scenario's trace: the harness's spans and whatever the server exported. */
  trace: { resourceSpans: ResourceSpans[] };
  spans: FlatSpan[];
  telemetryNote: string;
  workDir?: string;
  /** Set for a run against the scenario's known defect (`--prove`): it should fail. */
  proof?: string;
  /** How many times the runner ran it because the machine was too busy to judge, and why each time. */
  judging?: { attempts: number; busy: string[] };
}

/** Whether a run came out as it should: a normal run passes, a proof run fails (a run not judged is neither). */
export function asExpected(r: Pick<ScenarioResult, 'verdict' | 'proof'>): boolean {
  if (r.verdict === 'not-judged') return false;
  return r.proof ? r.verdict !== 'pass' : r.verdict === 'pass';
}

/** A run that could not be judged because the machine was too busy (neither pass nor fail). */
export function notJudged(r: Pick<ScenarioResult, 'verdict'>): boolean {
  return r.verdict === 'not-judged';
}

/**
 * The run's verdict from its measurements: any failed figure fails it; otherwise a
 * latency not judged (machine too busy) makes it "not judged"; an error without a failed
 * figure is an error.
 */
export function scenarioVerdict(measurements: readonly Pick<Measurement, 'verdict'>[], error: string | undefined): ScenarioVerdict {
  const failed = measurements.some((m) => m.verdict === 'fail');
  if (failed) return 'fail';
  if (error) return 'error';
  if (measurements.some((m) => m.verdict === 'not-judged')) return 'not-judged';
  return 'pass';
}

function sentinelKeys(): Record<'openai' | 'xai' | 'gemini', string> {
  const tag = randomBytes(6).toString('hex');
  return { openai: `sk-chaos-${tag}-openai-SENTINEL`, xai: `xai-chaos-${tag}-SENTINEL`, gemini: `AIza-chaos-${tag}-SENTINEL` };
}

async function waitForControlFile(path: string, timeoutMs: number): Promise<string> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as { url?: string; port?: number };
      if (parsed.url) return parsed.url;
      if (parsed.port) return `http://127.0.0.1:${parsed.port}`;
    } catch {
      // Not written yet.
    }
    if (nowMs() > deadline) throw new Error(`The in-process fake never wrote its control address to ${path} within ${timeoutMs} ms. Is the server a Node process honouring NODE_OPTIONS=--import?`);
    await sleep(20);
  }
}

export async function runScenario(scenario: Scenario, options: RunScenarioOptions): Promise<ScenarioResult> {
  const started = nowMs();
  const key = scenarioKey(scenario);
  const mode = options.mode;
  const serverCommand = options.serverCommand ?? defaultServerCommand();
  const defects = options.defects ?? [];
  const workDir = await mkdtemp(join(tmpdir(), `sb-chaos-${key}-`));
  const home = join(workDir, 'home');
  await mkdir(home, { recursive: true });
  const keys = sentinelKeys();
  const traceId = newTraceId();
  const rootSpanId = newSpanId();
  const throttleWindows: Evidence['throttleWindows'] = [];
  const measurements: Measurement[] = [];
  let error: string | undefined;
  let driver: Driver | null = null;
  let link: FakeLink | null = null;
  let tree: FileTree | null = null;
  let stateBefore: StateSnapshot | null = null;
  let stateAfter: StateSnapshot | null = null;
  let sessionsAtEnd: string[] | null = null;
  let checksStartMs = 0;
  let setupFailed = false;
  options.otlp?.take();
  // The machine's noise over the same window, measured by a process doing nothing.
  const ref = options.reference ?? true ? await startReference() : { reference: null, window: null };
  const reference = ref.reference;
  let referenceWindow = ref.window;
  const harnessLoop = monitorEventLoopDelay({ resolution: 10 });
  harnessLoop.enable();

  try {
    if (scenario.tree) tree = await generateFileTree(join(workDir, 'project'), scenario.tree);
    // `SB_FAKE_SPEC_VALIDATION` (enforce | record | off) overrides the scenario's spec check, e.g. to measure its cost.
    const specMode = process.env.SB_FAKE_SPEC_VALIDATION;
    const fakeConfig = { ...(scenario.fake ?? {}), ...(options.seed !== undefined ? { seed: options.seed } : {}), ...(specMode ? { specValidation: specMode } : {}) };
    const env = await serverEnv(scenario, { workDir, home, keys, defects, otlp: options.otlp });

    const controlFile = join(workDir, 'fake-control.json');
    const fake = await connectFake(mode, fakeConfig, env, controlFile);
    link = fake.link;
    let fakeBornMs = fake.bornMs;
    Object.assign(env, scenario.server?.env ?? {});

    const httpLink = link instanceof HttpFakeLink ? link : null;
    driver = new Driver({
      server: {
        command: serverCommand,
        cwd: options.cwd ?? REPO_ROOT,
        env,
        stderr: scenario.server?.stderr ?? { policy: 'drain' },
        ...(scenario.server?.maxOpenFiles ? { maxOpenFiles: scenario.server.maxOpenFiles } : {}),
        roots: [tree?.root ?? workDir],
      },
      fake: link,
      trace: { traceId, parentSpanId: rootSpanId },
      beforeKill: async () => {
        if (!httpLink) return;
        await httpLink.detach();
        await unlink(controlFile).catch(() => {});
      },
      onRestart: async () => {
        if (httpLink) httpLink.connect(await waitForControlFile(controlFile, patience(10_000)));
      },
    });

    const server = await driver.start();
    // The same window as the server's pings, which start once it has answered its handshake.
    if (reference) referenceWindow = (await reference.openWindow().catch(() => null)) ?? referenceWindow;
    measurements.push(info('scenario', 'server start', Math.round(nowMs() - started), 'ms', 'spawn + MCP handshake, including temp dir and fake setup'));
    if (httpLink) {
      httpLink.connect(await waitForControlFile(controlFile, patience(10_000)));
      fakeBornMs = server.startedAtMs;
    }
    const tools = new Set((await server.client.listTools({}, { timeout: 10_000 })).tools.map((t) => t.name));
    for (const w of (fakeConfig as { account?: { throttle?: Array<{ startMs: number; durationMs: number; mode?: string }> } }).account?.throttle ?? []) {
      throttleWindows.push({ startMs: fakeBornMs + w.startMs, endMs: fakeBornMs + w.startMs + w.durationMs, mode: w.mode ?? 'reject' });
    }

    stateBefore = await link.state().catch(() => null);
    if (tools.has('server_diagnostics')) await driver.snapshotDiagnostics('baseline');
    await driver.sampleProcess('baseline');
    driver.mark('steps', 'phase');

    const { steps } = prepareSteps(scenario.steps);
    // A guard against a hang, not a judged bound: stretched on a busy machine (patience.ts).
    const hardMs = patience(scenario.timeoutMs);
    const hard = AbortSignal.timeout(hardMs);
    const runner = new StepRunner({ driver, fake: link, workDir, tree, signal: hard, reference, busyLimitMs: options.busyLimitMs ?? REFERENCE_BUSY_LIMIT_MS, recordThrottle: (w) => throttleWindows.push(w) });
    try {
      await runner.run(steps);
    } catch (stepError) {
      error = hard.aborted ? `The scenario's steps did not finish within its hard timeout of ${hardMs} ms${hardMs > scenario.timeoutMs ? ` (${scenario.timeoutMs} ms, stretched for a busy machine)` : ''}.` : `A step failed: ${(stepError as Error)?.message ?? String(stepError)}`;
    }
    measurements.push(judged('scenario', 'steps finished within the hard timeout', hard.aborted ? 0 : 1, 'bool', { op: '==', value: 1 }, { note: `hard timeout ${hardMs} ms${hardMs > scenario.timeoutMs ? ` (${scenario.timeoutMs} ms × ${(hardMs / scenario.timeoutMs).toFixed(2)} for a busy machine)` : ''}` }));

    // Post-scenario checks: faults off, then the "alive" and "nothing lost" rules.
    checksStartMs = nowMs();
    const end = await postScenarioChecks(scenario, driver, link, tools);
    sessionsAtEnd = end.sessionsAtEnd;
    stateAfter = end.stateAfter;
  } catch (setupError) {
    error = `The run could not complete: ${(setupError as Error)?.message ?? String(setupError)}`;
    setupFailed = true;
  }

  // Read the journal while the server (which hosts an in-process fake) still runs.
  const journal = link ? await link.journal().catch(() => link.journalSnapshot()) : [];
  harnessLoop.disable();
  const referenceFigures = reference && referenceWindow ? await reference.closeWindow(referenceWindow).catch(() => null) : null;
  await reference?.close().catch(() => {});
  await driver?.stop().catch(() => {});
  await link?.close().catch(() => {});
  const endMs = nowMs();
  // The server flushes its spans on the way out; the last export may land just after exit.
  if (options.otlp) await sleep(150);
  const collected = options.otlp?.take() ?? { resourceSpans: [], texts: [], undecoded: 0, dropped: 0 };

  const servers = driver?.servers ?? [];
  const evidence: Evidence = {
    startMs: started,
    endMs,
    calls: driver?.calls ?? [],
    pings: driver?.pings.samples ?? [],
    marks: driver?.marks ?? [],
    journal,
    diagnostics: driver?.diagnostics ?? [],
    processSamples: driver?.processSamples ?? [],
    crashes: driver?.crashes ?? [],
    throttleWindows,
    stateBefore,
    stateAfter,
    stderr: servers.map((s) => s.stderrText()).join('\n'),
    stdout: servers.map((s) => s.stdoutText()).join(''),
    telemetry: collected.texts,
    sessionsAtEnd,
    checksStartMs: checksStartMs || endMs,
    harnessLoop: { maxMs: harnessLoop.max / 1e6, p99Ms: harnessLoop.percentile(99) / 1e6 },
    ...(referenceFigures ? { reference: { figures: referenceFigures, busyLimitMs: options.busyLimitMs ?? REFERENCE_BUSY_LIMIT_MS } } : {}),
  };
  // A setup that timed out on a machine too busy to judge says nothing about the server.
  const busy = evidence.reference ? busyReason(evidence.reference.figures, evidence.reference.busyLimitMs) : null;
  if (setupFailed && busy) measurements.push({ probe: 'scenario', metric: 'setup completed', value: 0, unit: 'bool', bound: { op: '==', value: 1 }, verdict: 'not-judged', note: `not judged (machine too busy: ${busy}); setup did not complete` });
  if (ref.note) measurements.push(info('responsive', 'reference process', null, 'bool', ref.note));

  if (driver) measurements.push(...judge(scenario, evidence, Object.values(keys)));
  const transportErrors = servers.flatMap((s) => s.transportErrors());
  if (transportErrors.length) measurements.push(judged('scenario', 'protocol errors on stdout', transportErrors.length, 'count', { op: '==', value: 0 }, { note: transportErrors.slice(0, 3).join(' | ') }));

  const harnessSpans = [
    { traceId, spanId: rootSpanId, name: `scenario ${key} [${mode}]`, kind: 'internal' as const, startMs: started, endMs, attributes: { 'chaos.scenario.id': scenario.id, 'chaos.scenario.key': key, 'chaos.mode': mode, 'chaos.time_scale': scenario.timeScale } },
    ...(driver?.spans ?? []),
  ];
  const resourceSpans = [toResourceSpans('second-brain-chaos', harnessSpans), ...collected.resourceSpans];
  const telemetryNote = telemetryNoteOf(options.otlp !== undefined, flattenSpans(collected.resourceSpans).length, collected.undecoded);

  const result: ScenarioResult = {
    key,
    id: scenario.id,
    name: scenario.name,
    title: scenario.title,
    mode,
    timeScale: scenario.timeScale,
    verdict: setupFailed && busy ? 'not-judged' : scenarioVerdict(measurements, error),
    startedAt: new Date(started).toISOString(),
    durationMs: Math.round(endMs - started),
    measurements,
    ...(error ? { error } : {}),
    provenAgainst: scenario.provenAgainst,
    serverCommand,
    defects,
    evidence,
    trace: { resourceSpans },
    spans: flattenSpans(resourceSpans),
    telemetryNote,
    ...(options.keepWorkDir ? { workDir } : {}),
    ...(options.proof ? { proof: options.proof } : {}),
  };
  if (!options.keepWorkDir) await rm(workDir, { recursive: true, force: true }).catch(() => {});
  return result;
}

/**
 * The fake API for a run: in this process on loopback ports, or inside the server process
 * (in-process mode, reached through its control file). Adds its base URLs to `env`.
 */
async function connectFake(mode: Mode, fakeConfig: Record<string, unknown>, env: Record<string, string>, controlFile: string): Promise<{ link: FakeLink; bornMs: number }> {
  if (mode === 'loopback') {
    const loopback = await startLoopbackFake({ fakeOptions: parseFakeConfig(fakeConfig) });
    warmSpecCheck(loopback.fake.settings.specValidation);
    Object.assign(env, { OPENAI_BASE_URL: loopback.baseUrls.openai, XAI_BASE_URL: loopback.baseUrls.xai, GEMINI_BASE_URL: loopback.baseUrls.gemini });
    return { link: new DirectFakeLink(loopback.fake, () => loopback.close()), bornMs: nowMs() };
  }
  Object.assign(env, {
    OPENAI_BASE_URL: DEFAULT_BASE_URLS.openai,
    XAI_BASE_URL: DEFAULT_BASE_URLS.xai,
    GEMINI_BASE_URL: DEFAULT_BASE_URLS.gemini,
    SB_FAKE_CONFIG: JSON.stringify(fakeConfig),
    SB_FAKE_CONTROL_FILE: controlFile,
    NODE_OPTIONS: `--import=${pathToFileURL(PRELOAD).href}`,
  });
  return { link: new HttpFakeLink('in-process'), bornMs: nowMs() };
}

/** A reference process beside the run, with a first window over the setup; or why none could run. */
async function startReference(): Promise<{ reference: ReferenceProcess | null; window: ReferenceWindow | null; note?: string }> {
  let reference: ReferenceProcess | null = null;
  try {
    reference = await ReferenceProcess.start();
    // Covers the setup; opened again once the server's pings start.
    return { reference, window: await reference.openWindow() };
  } catch (refError) {
    await reference?.close().catch(() => {});
    return { reference: null, window: null, note: `the reference process could not run (${(refError as Error).message}); latencies judged on absolute figures` };
  }
}

/** The server's whole environment: nothing of the harness's own leaks in but PATH. */
async function serverEnv(
  scenario: Scenario,
  o: { workDir: string; home: string; keys: ReturnType<typeof sentinelKeys>; defects: readonly string[]; otlp: RunScenarioOptions['otlp'] },
): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: o.workDir,
    OPENAI_API_KEY: o.keys.openai,
    XAI_API_KEY: o.keys.xai,
    GEMINI_API_KEY: o.keys.gemini,
    SECOND_BRAIN_HOME: o.home,
    SECOND_BRAIN_LOG_LEVEL: scenario.server?.logLevel ?? 'info',
    SECOND_BRAIN_ALLOWED_PATHS: o.workDir,
    ...(o.defects.length ? { SECOND_BRAIN_TEST_DEFECTS: o.defects.join(',') } : {}),
  };
  if (o.otlp) {
    Object.assign(env, {
      OTEL_EXPORTER_OTLP_ENDPOINT: o.otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_METRICS_EXPORTER: 'none',
    });
  }
  if (scenario.server?.models) {
    const file = join(o.workDir, 'models.json');
    await writeFile(file, JSON.stringify(scenario.server.models));
    env.SECOND_BRAIN_MODELS = file;
  }
  return env;
}

/**
 * After the steps: faults off and the account reset, a settle, the "alive" call (unless
 * the scenario skips it), the end snapshots, and the fake's state.
 */
async function postScenarioChecks(scenario: Scenario, driver: Driver, link: FakeLink, tools: ReadonlySet<string>): Promise<{ sessionsAtEnd: string[] | null; stateAfter: StateSnapshot | null }> {
  driver.mark('checks', 'phase');
  await link.clearFaults().catch(() => {});
  await link.account({ limits: { ...DEFAULT_ACCOUNT_LIMITS }, clearThrottle: true, reset: true }).catch(() => {});
  await driver.settle(SETTLE_MS);
  const alive = scenario.rules?.alive;
  if (!(alive && 'skip' in alive)) {
    const call = alive && 'tool' in alive ? alive : tools.has(DEFAULT_ALIVE.tool) ? DEFAULT_ALIVE : { ...DEFAULT_ALIVE, tool: [...tools].find((t) => t.startsWith('chat_with_')) ?? DEFAULT_ALIVE.tool };
    if (driver.server.alive) await driver.call({ id: ALIVE_CALL_ID, tool: call.tool, args: call.args, timeoutMs: patience(ALIVE_TIMEOUT_MS) });
  }
  let sessionsAtEnd: string[] | null = null;
  if (driver.server.alive) {
    if (tools.has('server_diagnostics')) await driver.snapshotDiagnostics('end');
    await driver.sampleProcess('end');
    if (tools.has('list_sessions')) sessionsAtEnd = await listSessions(driver);
  }
  return { sessionsAtEnd, stateAfter: await link.state().catch(() => null) };
}

/** What the report says about the server's own telemetry in this run. */
function telemetryNoteOf(collected: boolean, serverSpans: number, undecoded: number): string {
  if (!collected) return 'telemetry was not collected in this run';
  if (serverSpans) return `${serverSpans} server span(s) received over OTLP/HTTP JSON`;
  return `the server exported no spans over OTLP/HTTP JSON${undecoded ? ` (${undecoded} non-JSON bodies were not decoded)` : ''}; the trace holds the harness's spans only`;
}

/** Every probe that applies: the common rules always, the scenario's own when it asks. */
function judge(scenario: Scenario, ev: Evidence, sentinels: string[]): Measurement[] {
  const { expectations } = prepareSteps(scenario.steps);
  const rules = scenario.rules ?? {};
  const asserted = scenario.assert ?? {};
  const out: Measurement[] = [
    ...responsivenessProbe(ev, rules.responsive ?? {}),
    ...(rules.alive && 'skip' in rules.alive ? [] : aliveProbe(ev)),
    ...boundedProbe(ev),
    ...leaksProbe(ev, { ...rules.leaks, ...asserted.leaks }),
    ...dataProbe(ev, asserted.data ?? {}),
    ...secretsProbe(ev, sentinels),
    ...specProbe(ev),
  ];
  return out.concat(
    callsProbe(ev, [...expectations, ...(asserted.calls ?? [])]),
    asserted.cancellation ? cancellationProbe(ev, asserted.cancellation) : [],
    asserted.recovery ? recoveryProbe(ev, asserted.recovery) : [],
  );
}

async function listSessions(driver: Driver): Promise<string[] | null> {
  try {
    const result = await driver.server.client.callTool({ name: 'list_sessions', arguments: { limit: 500 } }, undefined, { timeout: 5_000 });
    const sessions = (result.structuredContent as { sessions?: Array<{ session_id?: string }> } | undefined)?.sessions;
    return Array.isArray(sessions) ? sessions.map((s) => String(s.session_id)) : null;
  } catch {
    return null;
  }
}
