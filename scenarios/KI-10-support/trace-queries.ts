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
 * The server's stderr buffer bound for these runs. At `trace` a query over this project
 * writes about 30 KiB of records (each span's start and end, and the files read). A Node
 * client's pipe takes about 250–300 KiB before it pushes back (the kernel's socket buffer
 * plus the client stream's own buffers, measured), so the 20 queries fill it and then the
 * server's buffer. With the default bound (1 MiB) that would take about 35 queries more, so
 * 32 KiB is used to reach the drop path in a short scenario.
 */
export const LOG_BUFFER_BYTES = 32_768;


export const server = (stderr: NonNullable<ScenarioInput['server']>['stderr']): ScenarioInput['server'] => ({
  logLevel: 'trace',
  stderr,
  env: { SECOND_BRAIN_LOG_BUFFER_BYTES: String(LOG_BUFFER_BYTES) },
});

/** A project of 1,000 small files, so each query gathers a context (its spans and the files read are logged at `trace`). */
/**
 * The fake's spec check is off here: this entry bounds the server process's RSS growth, and
 * in in-process mode that process also hosts the fake and its validator thread (whose heap
 * grows as it compiles and checks, measured at 71–74 MB over the 15 queries against the
 * 64 MB bound). The queries are plain chat calls, the same requests every other scenario
 * sends with the check on.
 */
export const fake: ScenarioInput['fake'] = { specValidation: 'off' };

export const tree: ScenarioInput['tree'] = { files: 1_000, sizeBytes: { min: 100, max: 400 }, depth: 3, fanout: 6 };

export const steps: Step[] = [
  // The server's first context gathering starts its reader and tokenizer threads (one-time,
  // 1.2–2.8 s of the first query on a loaded machine, 0.3 s quiet); a count over the same
  // project pays it before the judged queries. It logs at `trace` like them.
  { do: 'call', id: 'warm-up', tool: 'count_project_tokens', args: { paths: ['$PROJECT'] }, timeoutMs: 20_000, expect: { outcome: 'success' } },
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
      // The bound itself, as the server measured it: the most bytes its stderr buffer held.
      const held = (diag?.data as { log_buffer?: { max_pending_bytes?: number } } | null)?.log_buffer?.max_pending_bytes ?? null;
      f.judge('most bytes the stderr buffer held (server_diagnostics log_buffer)', held, 'bytes', '<=', LOG_BUFFER_BYTES);
      const samples = ctx.driver.processSamples.filter((s) => s.generation === ctx.driver.server.generation && s.rssBytes !== null);
      const from = samples.find((s) => s.label === 'after repeat 5');
      const to = samples.at(-1);
      f.info('RSS growth from the 5th to the 20th query', from && to ? to.rssBytes! - from.rssBytes! : null, 'bytes');
      f.settle();
    },
  },
];
