/**
 * KI-10's workload, shared by its two stderr policies (never read; read at 1 KiB/s):
 * 20 queries at the most verbose log level, one after another, then the checks the entry
 * asks for — every query completed, records past the log buffer's bound were dropped and
 * counted in `server_diagnostics` (`dropped.logs`), and memory stayed bounded.
 */
import type { ScenarioInput, Step } from '../../harness/src/runner/scenario.ts';
import { Figures, droppedOf } from '../KI-08-support/figures.ts';

export const QUERIES = 20;

/**
 * The server's stderr buffer bound for these runs. The default (1 MiB) would take about
 * 140 queries at `trace` (about 7 KiB of records per query, measured) to fill; 32 KiB is
 * reached within the 20 queries, so the drop path runs in a short scenario.
 */
export const LOG_BUFFER_BYTES = 32_768;

/** RSS the server may gain between the 5th and the 20th query (warm-up is over by the 5th). */
export const MAX_RSS_GROWTH_BYTES = 32 * 1_048_576;

export const server = (stderr: NonNullable<ScenarioInput['server']>['stderr']): ScenarioInput['server'] => ({
  logLevel: 'trace',
  stderr,
  env: { SECOND_BRAIN_LOG_BUFFER_BYTES: String(LOG_BUFFER_BYTES) },
});

/** A small project, so each query has a context to gather (more spans, more records). */
export const tree: ScenarioInput['tree'] = { files: 40, sizeBytes: { min: 500, max: 3_000 }, depth: 2 };

export const steps: Step[] = [
  {
    do: 'repeat',
    times: QUERIES,
    steps: [
      {
        do: 'call',
        id: 'query',
        tool: 'chat_with_gpt41',
        session: 'ki10-trace',
        args: { instructions: 'What does this project do?', context: ['$PROJECT'] },
        // A blocked loop shows as a call that never ends; 5 s is far above the ~50 ms a query takes here.
        timeoutMs: 5_000,
        expect: { outcome: 'success', maxMs: 2_000 },
      },
    ],
  },
  { do: 'diagnostics', label: 'after the queries' },
  {
    do: 'run',
    label: 'log records past the bound were dropped and counted; memory bounded',
    run: async (ctx) => {
      const f = new Figures(ctx);
      const diag = [...ctx.driver.diagnostics].reverse().find((d) => d.label === 'after the queries');
      const dropped = droppedOf(diag?.data ?? null);
      f.judge('log records dropped (server_diagnostics dropped.logs)', dropped?.logs ?? null, 'records', '>', 0, `stderr buffer bound ${LOG_BUFFER_BYTES} bytes`);
      const stats = ctx.driver.server.stderrStats();
      f.info('stderr bytes the client read', stats.bytesRead, 'bytes');
      const samples = ctx.driver.processSamples.filter((s) => s.generation === ctx.driver.server.generation && s.rssBytes !== null);
      const from = samples.find((s) => s.label === 'after repeat 5');
      const to = samples.at(-1);
      f.judge('RSS growth from the 5th to the 20th query', from && to ? to.rssBytes! - from.rssBytes! : null, 'bytes', '<=', MAX_RSS_GROWTH_BYTES);
      f.settle();
    },
  },
];
