import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { Step } from '../harness/src/runner/scenario.ts';
import { TestCollector, boundedExportEnv } from './KI-09-support/collector.ts';
import type { CollectorMode } from './KI-09-support/collector.ts';
import { Figures, droppedOf, durationsOf, median } from './KI-08-support/figures.ts';

/**
 * KI-09: log records were shipped to VictoriaLogs over HTTP inside the request path; a
 * slow log endpoint stalled every log call, and the hang moved with whichever line was
 * printing. Here the server logs at `trace` and exports logs and traces over OTLP/HTTP to
 * a collector that first answers at once, then only after 5 s (1 s scaled), then never.
 * Queries must not slow down, the ping bound must hold, and the records that cannot be
 * shipped must be buffered up to the export queue's bound, then dropped and counted in
 * `server_diagnostics` (`dropped`).
 *
 * Proven against `blocking-telemetry-export` (each record POSTed synchronously): with the
 * slow collector every log call parks the event loop for 1 s; ping max 5.0 s (6 pings
 * failed) and every query with the collector slow or hung timed out (in-process).
 */

const TIME_SCALE = 5;
/** The catalogue's slow endpoint: 5 s, scaled. */
const SLOW_MS = 5_000 / TIME_SCALE;
/** Rounds of (healthy, slow, hung), and queries per behaviour per round: interleaved, so drift on a busy machine hits all three alike. */
const ROUNDS = 3;
const PER_PHASE = 2;
/** Model latency of the fake (a fast model); the queries' own cost sits on top of it. */
const MODEL_LATENCY_MS = 100;
/**
 * A query with a slow or hung collector may take at most this multiple of its median with a
 * healthy one. Not 1.0: medians of these ~130 ms queries differ by up to ±10 % between
 * identical phases on the 2-core machine (measured), so 1.2 separates noise from a slowdown.
 */
const MAX_SLOWDOWN = 1.2;
/** Export queue bound per signal: the last, sustained hung phase makes about 120 log records at `trace`, more than it holds. */
const QUEUE_MAX = 64;
/** Queries of that last phase. */
const SUSTAINED = 6;

const collector = await TestCollector.start();

const setCollector = (mode: CollectorMode): Step => ({
  do: 'run',
  label: `collector: ${mode.kind}${mode.kind === 'slow' ? ` ${mode.delayMs} ms` : ''}`,
  run: async () => collector.setMode(mode),
});

const queries = (id: string, times = PER_PHASE): Step => ({
  do: 'repeat',
  times,
  steps: [
    {
      do: 'call',
      id,
      tool: 'chat_with_gpt41',
      session: `ki09-${id.replace(/[^\w-]/g, '-')}`,
      args: { instructions: 'What does this project do?', context: ['$PROJECT'] },
      timeoutMs: 5_000,
      expect: { outcome: 'success' },
    },
  ],
});

export default defineScenario({
  id: 'KI-09',
  name: 'slow-log-endpoint',
  title: 'A slow or hung log/trace endpoint neither slows queries nor blocks the loop; unshippable records are dropped and counted',
  timeScale: TIME_SCALE,
  modes: ['in-process', 'loopback'],
  timeoutMs: 25_000,
  fake: { faults: [{ route: 'responses.create', fault: { type: 'latency', ms: MODEL_LATENCY_MS } }] },
  server: {
    logLevel: 'trace',
    env: {
      // Project memory's background uploads would add their own noise to the timings; it is not what KI-09 is about.
      SECOND_BRAIN_MEMORY: 'false',
      // The default export timeout (5 s) scaled would cut the slow collector's answers; 2 s lets them land.
      ...boundedExportEnv(collector.endpoint, QUEUE_MAX),
    },
  },
  tree: { files: 40, sizeBytes: { min: 500, max: 3_000 }, depth: 2 },
  steps: [
    setCollector({ kind: 'ok' }),
    // Warm-up: the first calls pay for lazy initialisation, and are not measured.
    queries('warm-up', 2),
    ...Array.from({ length: ROUNDS }, (_, r): Step[] => [
      setCollector({ kind: 'ok' }),
      queries(`healthy.${r + 1}`),
      setCollector({ kind: 'slow', delayMs: SLOW_MS }),
      queries(`slow.${r + 1}`),
      setCollector({ kind: 'hang' }),
      queries(`hung.${r + 1}`),
    ]).flat(),
    // The collector stays hung long enough for the export queue to reach its bound.
    queries('hung.sustained', SUSTAINED),
    { do: 'diagnostics', label: 'collector hung' },
    {
      do: 'run',
      label: 'queries not slowed; unshippable records dropped and counted',
      run: async (ctx) => {
        const f = new Figures(ctx);
        const phase = (name: string) => [...Array.from({ length: ROUNDS }, (_, r) => durationsOf(ctx, `${name}.${r + 1}`)).flat(), ...(name === 'hung' ? durationsOf(ctx, 'hung.sustained') : [])];
        const base = median(phase('healthy'));
        f.info('median query, collector healthy', base, 'ms');
        for (const name of ['slow', 'hung']) {
          const m = median(phase(name));
          f.judge(`median query, collector ${name} / healthy`, base && m !== null ? m / base : null, 'x', '<=', MAX_SLOWDOWN, `${m === null ? '-' : Math.round(m)} ms vs ${base === null ? '-' : Math.round(base)} ms`);
        }
        const diag = [...ctx.driver.diagnostics].reverse().find((d) => d.label === 'collector hung');
        const dropped = droppedOf(diag?.data ?? null);
        f.judge('log records dropped (server_diagnostics dropped.logs)', dropped?.logs ?? null, 'records', '>', 0, `export queue bound ${QUEUE_MAX}`);
        f.info('spans dropped (server_diagnostics dropped.spans)', dropped?.spans ?? null, 'spans');
        const c = collector.counts();
        f.info('collector requests received', JSON.stringify(c.received));
        f.settle();
      },
    },
    // Healthy again, so the post-scenario checks and the shutdown do not wait on it.
    setCollector({ kind: 'ok' }),
  ],
  provenAgainst: { defect: 'blocking-telemetry-export', note: 'every log record POSTed to the logs endpoint synchronously, on the event loop' },
});
