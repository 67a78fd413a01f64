import { defineScenario } from '../harness/src/runner/scenario.ts';
import { MODELS, backToBackCheck, overflowCall, overflowRun } from './KI-01-support/back-to-back.ts';
import { UPLOAD_PER_FILE_ENV } from './KI-01-support/upload-per-file.ts';

/**
 * KI-01, candidate "a blocked log sink". The seed log found the hang "always while the
 * logger is trying to send": first a synchronous network handler (KI-09), then, in the
 * post-mortem, a stderr handler blocking once the pipe's 64 KiB buffer filled because the
 * client never read it (KI-10). The second query logged more than the first (every
 * reused file got a line), so it was the one that hung.
 *
 * Inject: stderr piped but never read, logging at the most verbose level (trace), and the
 * same overflow query three times back to back in new sessions, then a follow-up.
 * KI-10-undrained-stderr covers the log sink alone (20 queries, a 1 KiB/s reader); this
 * is its back-to-back form.
 *
 * Expect: the family's checks (KI-01-support/back-to-back.ts) and the ping bound, with
 * the pipe full: the records that did not fit are dropped and counted in
 * server_diagnostics, never queued without bound and never waited for.
 *
 * Proven against `sync-stderr-logger` (pino writing fd 2 synchronously): once the pipe is
 * full the event loop blocks in write(2) during run 1; responsive probe "ping max" 5.0 s
 * (every ping times out) against 100 ms, run 1 never answers, and the alive check times out.
 */
export default defineScenario({
  id: 'KI-01',
  name: 'blocked-log-sink',
  title: 'Back-to-back overflow queries while nobody reads the server’s stderr',
  modes: ['in-process', 'loopback'],
  timeoutMs: 40_000,
  server: {
    models: MODELS,
    // A 4 KiB buffer (the least accepted) behind the 64 KiB pipe, so three runs at trace level overflow it.
    env: { SECOND_BRAIN_MEMORY: 'false', SECOND_BRAIN_LOG_BUFFER_BYTES: '4096', ...UPLOAD_PER_FILE_ENV },
    logLevel: 'trace',
    stderr: { policy: 'never-read' },
  },
  // More files than the rest of the family: at trace level each upload logs ~0.9 KB of
  // span records, and ~210 uploads are what it takes to fill the 64 KiB pipe plus the
  // 64 KiB the harness's stream buffers before it stops reading.
  tree: { files: 240, sizeBytes: 1_024 },
  steps: [
    ...overflowRun(1, 'ki01-log'),
    ...overflowRun(2, 'ki01-log'),
    ...overflowRun(3, 'ki01-log'),
    overflowCall('follow-up', 'ki01-log-1'),
    backToBackCheck({ runs: ['run-1', 'run-2', 'run-3'], followUp: 'follow-up', storesCreated: 3 }),
    {
      do: 'run',
      label: 'the pipe filled: records past the bound were dropped and counted',
      run: async (ctx) => {
        const d = await ctx.driver.snapshotDiagnostics('log sink');
        const dropped = (d?.dropped as { logs?: number } | undefined)?.logs ?? 0;
        ctx.driver.mark(`log records dropped and counted: ${dropped}`, 'note');
        if (!(dropped > 0)) throw new Error('no log record was dropped: the pipe never filled, so the injection did not bite');
      },
    },
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs (up to 22 sockets, ~10 for the 2 tokenizer workers)',
    },
  },
  provenAgainst: { defect: 'sync-stderr-logger', note: 'pino writing fd 2 synchronously, as the first version’s stderr handler did' },
});
