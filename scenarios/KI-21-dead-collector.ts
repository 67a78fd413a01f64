import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { Step } from '../harness/src/runner/scenario.ts';
import type { StepContext } from '../harness/src/runner/step-context.ts';
import { nowMs } from '../harness/src/driver/clock.ts';
import { TestCollector } from './KI-09-support/collector.ts';
import type { CollectorMode } from './KI-09-support/collector.ts';
import { Figures, droppedOf, median } from './KI-08-support/figures.ts';
import { startBaseline } from './KI-21-support/baseline-server.ts';
import type { Baseline } from './KI-21-support/baseline-server.ts';

/**
 * KI-21: the debugging instrumentation caused the hang (synchronous debug writes made it
 * come earlier). Here tracing and logging run at full detail (`trace`, every span exported
 * and logged) while the collector is unreachable (connection refused), hung, or slow.
 * Expect, for each of the three:
 * - call latency and the ping bound as with telemetry off, within 10 %: a second server
 *   with telemetry off (OTEL_SDK_DISABLED) runs the same calls against the same fake, one
 *   call each in turn, and the medians are compared;
 * - the export queues stay bounded and drop with a count (`server_diagnostics.dropped`);
 * - shutdown does not hang on the dead collector: SIGTERM with exports stuck, and the
 *   process is gone within the shutdown grace (3 s) plus 1 s.
 *
 * Proven against `blocking-telemetry-export` (each record POSTed synchronously): with the
 * collector hung every log call parks the event loop until the export times out.
 */

const TIME_SCALE = 5;
/** The slow collector answers after 5 s, scaled. */
const SLOW_MS = 5_000 / TIME_SCALE;
/** Calls per server per collector behaviour (after one warm-up each). */
const PAIRS = 6;
/** The catalogue's bound: latency with telemetry on at most 10 % above telemetry off. */
const MAX_RATIO = 1.1;
const MODEL_LATENCY_MS = 100;
/** The server's shutdown grace (DEFAULTS.SHUTDOWN_GRACE_MS) plus process exit. */
const MAX_SHUTDOWN_MS = 3_000 + 1_000;
const QUEUE_MAX = 64;

const FAKE = { faults: [{ route: 'responses.create', fault: { type: 'latency', ms: MODEL_LATENCY_MS } }] };
const SHARED_ENV = { SECOND_BRAIN_LOG_LEVEL: 'trace', SECOND_BRAIN_MEMORY: 'false' };
const ASK = { instructions: 'What does this project do?', context: ['$PROJECT'] };

const collector = await TestCollector.start();
let baseline: Baseline | null = null;

const withProject = (ctx: StepContext) => ({ ...ASK, context: [ctx.tree!.root] });

/** One behaviour of the collector: alternate calls between the two servers, then judge. */
const phase = (mode: CollectorMode): Step => ({
  do: 'run',
  label: `collector ${mode.kind}: telemetry on vs off`,
  run: async (ctx) => {
    await collector.setMode(mode);
    const b = baseline!;
    const on: number[] = [];
    const off: number[] = [];
    const startedAt = nowMs();
    const basePings = b.pings.samples.length;
    for (let i = 0; i < PAIRS; i++) {
      // Alternate which goes first, so neither always follows the other's background work.
      const runOn = async () => {
        const r = await ctx.driver.call({ id: `on-${mode.kind}#${i + 1}`, tool: 'chat_with_gpt41', args: { ...withProject(ctx), session_id: `ki21-on-${mode.kind}` }, timeoutMs: 10_000 });
        if (r.outcome !== 'success' || r.endMs === null) throw new Error(`telemetry-on call ${r.id} ended ${r.outcome}: ${r.text.slice(0, 200)}`);
        on.push(r.endMs - r.startMs);
      };
      const runOff = async () => off.push(await b.call('chat_with_gpt41', { ...withProject(ctx), session_id: `ki21-off-${mode.kind}` }));
      if (i % 2 === 0) { await runOn(); await runOff(); } else { await runOff(); await runOn(); }
    }
    const f = new Figures(ctx);
    const mOn = median(on);
    const mOff = median(off);
    f.judge(`collector ${mode.kind}: median call, telemetry on / off`, mOn !== null && mOff ? mOn / mOff : null, 'x', '<=', MAX_RATIO, `${Math.round(mOn ?? 0)} ms on vs ${Math.round(mOff ?? 0)} ms off`);
    const pingsOn = ctx.driver.pings.samples.filter((p) => p.atMs >= startedAt).map((p) => p.rttMs);
    const pingsOff = b.pings.samples.slice(basePings).map((p) => p.rttMs);
    f.judge(`collector ${mode.kind}: ping max, telemetry on`, pingsOn.length ? Math.max(...pingsOn) : null, 'ms', '<', 100);
    f.judge(`collector ${mode.kind}: ping max, telemetry off`, pingsOff.length ? Math.max(...pingsOff) : null, 'ms', '<', 100);
    f.info(`collector ${mode.kind}: ping p50 on / off`, `${median(pingsOn)?.toFixed(1)} / ${median(pingsOff)?.toFixed(1)}`, 'ms');
    f.settle();
  },
});

export default defineScenario({
  id: 'KI-21',
  name: 'dead-collector',
  title: 'Full tracing and logging with the collector refused, hung or slow: latency within 10 % of telemetry off, bounded queues, bounded shutdown',
  timeScale: TIME_SCALE,
  // The telemetry-off server carries its own preloaded fake: in-process only.
  modes: ['in-process'],
  timeoutMs: 30_000,
  fake: FAKE,
  server: {
    logLevel: 'trace',
    env: {
      ...SHARED_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      OTEL_TRACES_SAMPLER: 'always_on',
      OTEL_BLRP_MAX_QUEUE_SIZE: String(QUEUE_MAX),
      OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '16',
      OTEL_BLRP_SCHEDULE_DELAY: '100',
      OTEL_BSP_MAX_QUEUE_SIZE: String(QUEUE_MAX),
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '16',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
  },
  tree: { files: 40, sizeBytes: { min: 500, max: 3_000 }, depth: 2 },
  steps: [
    {
      do: 'run',
      label: 'start the telemetry-off server; warm both up',
      run: async (ctx) => {
        await collector.setMode({ kind: 'ok' });
        baseline = await startBaseline(ctx, { fake: FAKE, env: SHARED_ENV });
        await baseline.call('chat_with_gpt41', { ...withProject(ctx), session_id: 'ki21-warm' });
        await ctx.driver.call({ id: 'warm-up', tool: 'chat_with_gpt41', args: { ...withProject(ctx), session_id: 'ki21-warm' } });
      },
    },
    phase({ kind: 'refuse' }),
    phase({ kind: 'hang' }),
    { do: 'diagnostics', label: 'collector hung' },
    {
      do: 'run',
      label: 'export queues bounded, drops counted',
      run: async (ctx) => {
        const f = new Figures(ctx);
        const d = droppedOf([...ctx.driver.diagnostics].reverse().find((x) => x.label === 'collector hung')?.data ?? null);
        f.judge('telemetry dropped while the collector was refused or hung (logs + spans)', d ? d.logs + d.spans : null, 'records', '>', 0, `logs ${d?.logs}, spans ${d?.spans}; queue bound ${QUEUE_MAX} per signal`);
        f.settle();
      },
    },
    phase({ kind: 'slow', delayMs: SLOW_MS }),
    {
      do: 'run',
      label: 'shutdown with the collector hung has a deadline',
      run: async (ctx) => {
        await baseline?.close();
        baseline = null;
        await collector.setMode({ kind: 'hang' });
        // Exports in flight and queued when the signal comes.
        await ctx.driver.call({ id: 'before-shutdown', tool: 'chat_with_gpt41', args: { ...withProject(ctx), session_id: 'ki21-last' } });
        const old = ctx.driver.server;
        const t0 = nowMs();
        const exited = old.closed.then(() => nowMs());
        await ctx.driver.restart('SIGTERM');
        const f = new Figures(ctx);
        f.judge('SIGTERM to exit with the collector hung', (await exited) - t0, 'ms', '<=', MAX_SHUTDOWN_MS);
        await collector.setMode({ kind: 'ok' });
        f.settle();
      },
    },
  ],
  provenAgainst: { defect: 'blocking-telemetry-export', note: 'every log record POSTed to the logs endpoint synchronously, on the event loop' },
});
