import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { StepContext } from '../harness/src/runner/step-context.ts';
import { nowMs } from '../harness/src/driver/clock.ts';
import { TestCollector, boundedExportEnv } from './KI-09-support/collector.ts';
import type { CollectorMode } from './KI-09-support/collector.ts';
import { Figures, droppedOf, median } from './KI-08-support/figures.ts';
import { startBaseline } from './KI-21-support/baseline-server.ts';

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
 * collector refused the calls take 1.18× those with telemetry off (207 ms vs 175 ms); with
 * it hung every log call parks the event loop until the export times out, so ping max is
 * 5.0 s (10 pings failed) and the calls time out.
 */

const TIME_SCALE = 5;
/** The slow collector answers after 5 s, scaled. */
const SLOW_MS = 5_000 / TIME_SCALE;
/** Calls per server per collector behaviour (after one warm-up each). */
const PAIRS = 6;
/** The catalogue's bound: latency with telemetry on at most 10 % above telemetry off. */
const MAX_RATIO = 1.1;
/** Model latency of the fake: a fast model (real ones take seconds, which only shrinks telemetry's share). */
const MODEL_LATENCY_MS = 150;
/** The server's shutdown grace (DEFAULTS.SHUTDOWN_GRACE_MS) plus process exit. */
const MAX_SHUTDOWN_MS = 3_000 + 1_000;
const QUEUE_MAX = 64;

const FAKE = { faults: [{ route: 'responses.create', fault: { type: 'latency', ms: MODEL_LATENCY_MS } }] };
const SHARED_ENV = { SECOND_BRAIN_LOG_LEVEL: 'trace', SECOND_BRAIN_MEMORY: 'false' };
const ASK = { instructions: 'What does this project do?', context: ['$PROJECT'] };

const collector = await TestCollector.start();

const askOn = (ctx: StepContext, id: string, session: string) =>
  ctx.driver.call({ id, tool: 'chat_with_gpt41', args: { ...ASK, context: [ctx.tree!.root], session_id: session }, timeoutMs: 10_000 });

/**
 * The three collector behaviours, each with calls alternating between the two servers.
 * One step owns the telemetry-off server from start to close, so it is closed however
 * the step ends (a failed figure, the hard timeout).
 */
async function compare(ctx: StepContext): Promise<void> {
  const f = new Figures(ctx);
  await collector.setMode({ kind: 'ok' });
  const b = await startBaseline(ctx, { fake: FAKE, env: SHARED_ENV });
  try {
    const askOff = (session: string) => b.call('chat_with_gpt41', { ...ASK, context: [ctx.tree!.root], session_id: session });
    await askOff('ki21-warm');
    await askOn(ctx, 'warm-up', 'ki21-warm');
    for (const mode of MODES) {
      await collector.setMode(mode);
      const on: number[] = [];
      const off: number[] = [];
      const startedAt = nowMs();
      const firstOffPing = b.pings.samples.length;
      for (let i = 0; i < PAIRS && !ctx.signal.aborted; i++) {
        const runOn = async () => {
          const r = await askOn(ctx, `on-${mode.kind}#${i + 1}`, `ki21-on-${mode.kind}`);
          if (r.outcome !== 'success' || r.endMs === null) throw new Error(`telemetry-on call ${r.id} ended ${r.outcome}: ${r.text.slice(0, 200)}`);
          on.push(r.endMs - r.startMs);
        };
        const runOff = async () => { off.push(await askOff(`ki21-off-${mode.kind}`)); };
        // Alternate which goes first, so neither always follows the other's background work.
        if (i % 2 === 0) { await runOn(); await runOff(); } else { await runOff(); await runOn(); }
      }
      const mOn = median(on);
      const mOff = median(off);
      f.judge(`collector ${mode.kind}: median call, telemetry on / off`, mOn !== null && mOff ? mOn / mOff : null, 'x', '<=', MAX_RATIO, `${Math.round(mOn ?? 0)} ms on vs ${Math.round(mOff ?? 0)} ms off`);
      const pingsOn = ctx.driver.pings.samples.filter((p) => p.atMs >= startedAt).map((p) => p.rttMs);
      const pingsOff = b.pings.samples.slice(firstOffPing).map((p) => p.rttMs);
      f.judgeLatency(`collector ${mode.kind}: ping max, telemetry on`, pingsOn.length ? Math.max(...pingsOn) : null, '<', 100, startedAt);
      f.judgeLatency(`collector ${mode.kind}: ping max, telemetry off`, pingsOff.length ? Math.max(...pingsOff) : null, '<', 100, startedAt);
      f.info(`collector ${mode.kind}: ping p50 on / off`, `${median(pingsOn)?.toFixed(1)} / ${median(pingsOff)?.toFixed(1)}`, 'ms');
      if (mode.kind === 'hang') await ctx.driver.snapshotDiagnostics('collector hung');
    }
  } finally {
    await b.close();
  }
  f.settle();
}

const MODES: CollectorMode[] = [{ kind: 'refuse' }, { kind: 'hang' }, { kind: 'slow', delayMs: SLOW_MS }];

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
      ...boundedExportEnv(collector.endpoint, QUEUE_MAX),
      OTEL_TRACES_SAMPLER: 'always_on',
    },
  },
  tree: { files: 40, sizeBytes: { min: 500, max: 3_000 }, depth: 2 },
  steps: [
    { do: 'run', label: 'collector refused, hung, slow: telemetry on vs off', run: compare },
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
    {
      do: 'run',
      label: 'shutdown with the collector hung has a deadline',
      run: async (ctx) => {
        await collector.setMode({ kind: 'hang' });
        // Exports in flight and queued when the signal comes.
        await askOn(ctx, 'before-shutdown', 'ki21-last');
        const old = ctx.driver.server;
        const t0 = nowMs();
        const exited = old.closed.then(() => nowMs());
        try {
          await ctx.driver.restart('SIGTERM');
        } finally {
          await collector.setMode({ kind: 'ok' });
        }
        const f = new Figures(ctx);
        f.judge('SIGTERM to exit with the collector hung', (await exited) - t0, 'ms', '<=', MAX_SHUTDOWN_MS);
        f.settle();
      },
    },
  ],
  provenAgainst: { defect: 'blocking-telemetry-export', note: 'every log record POSTed to the logs endpoint synchronously, on the event loop' },
});
