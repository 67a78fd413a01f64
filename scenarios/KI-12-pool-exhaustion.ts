import { defineScenario } from '../harness/src/runner/scenario.ts';
import { Figures, droppedOf } from './KI-08-support/figures.ts';
import { whileSampling } from './KI-08-support/fd-sampler.ts';

/**
 * KI-12: the server hung after opening 15 or 16 of 80 files, and moving more work to a
 * thread pool made the first query hang too. In Node the libuv pool (4 threads) is shared
 * by file system calls, DNS, crypto hashing, zlib and blocked pipe writes; filling it
 * stalls every file read. Here four tool calls run at once, each with a large context (a
 * tree of 2,000 files, read, hashed and tokenized by each call), while stderr is a pipe
 * nobody reads and the server logs at `trace` (a record per file read and per span), so a
 * writer that parked pool threads on the full pipe would starve the reads. Expect:
 * - every call completes, before its deadline;
 * - reads make steady progress, shown by progress notifications: at least 3 per call, and
 *   no silence longer than the progress heartbeat (5 s, scaled to 1 s);
 * - pool-heavy work stays below the pool size: sampled every 5 ms, at most 3 project files
 *   are open at once across the four calls (4 pool threads), and the loop stays responsive.
 *
 * Proven against `unbounded-gather` (every file opened at once): 7,034 project files open
 * at once (bound < 4), progress silences of 1.1 s, ping max 602 ms.
 */

const TIME_SCALE = 5;
const CALLS = 4;
/** libuv's default pool (UV_THREADPOOL_SIZE unset): 4 threads; file work must leave one free. */
const POOL_SIZE = 4;
const MAX_PROGRESS_GAP_MS = 5_000 / TIME_SCALE;
const DEADLINE_MS = 20_000;

export default defineScenario({
  id: 'KI-12',
  name: 'pool-exhaustion',
  title: 'Four concurrent large-context calls with stderr blocked: all complete, reads progress steadily, file work stays below the pool size',
  timeScale: TIME_SCALE,
  // Loopback: in-process, the fake's handling of four ~5 MB prompts would run on the server's
  // own event loop (pings up to 157 ms measured) and be blamed on the server.
  modes: ['loopback'],
  timeoutMs: 40_000,
  server: {
    logLevel: 'trace',
    stderr: { policy: 'never-read' },
    // The stderr buffer bound is lowered from 1 MiB so the blocked pipe reaches it within the run (see KI-10).
    // The calls fill a 1M-token window on purpose: no confirmation step in front of them.
    env: { SECOND_BRAIN_TIME_SCALE: String(1 / TIME_SCALE), SECOND_BRAIN_MEMORY: 'false', SECOND_BRAIN_LOG_BUFFER_BYTES: '32768', SECOND_BRAIN_CONFIRM_ABOVE_TOKENS: '10000000' },
    // Overflow is left out rather than uploaded: the load here is the file work itself.
    models: { 'gpt-4.1': { vector_stores: false } },
  },
  tree: { files: 2_000, sizeBytes: { min: 1_000, max: 4_000 }, depth: 3, fanout: 8 },
  steps: [
    // First the unread pipe fills: a client's pipe takes 250–300 KiB before it pushes back,
    // and four calls over the project log about that at `trace`. The concurrent calls then
    // run with stderr blocked.
    {
      do: 'repeat',
      times: 4,
      steps: [{ do: 'call', id: 'fill-stderr', tool: 'chat_with_gpt41', session: 'ki12-fill', args: { instructions: 'List the modules.', context: ['$PROJECT'] }, timeoutMs: DEADLINE_MS, expect: { outcome: 'success' } }],
    },
    { do: 'diagnostics', label: 'stderr full' },
    {
      do: 'run',
      label: `${CALLS} concurrent calls over the whole project, descriptors sampled every 5 ms`,
      run: async (ctx) => {
        const f = new Figures(ctx);
        const root = ctx.tree!.root;
        const { result: calls, fds } = await whileSampling(ctx.driver.server.pid, root, () =>
          Promise.all(
            Array.from({ length: CALLS }, (_, i) =>
              ctx.driver.call({
                id: `large-context-${i + 1}`,
                tool: 'chat_with_gpt41',
                args: { instructions: 'Where is the configuration read?', session_id: `ki12-${i + 1}`, context: [root] },
                timeoutMs: DEADLINE_MS,
              }),
            ),
          ),
        );
        for (const c of calls) {
          f.judgeCall(`${c.id}: completed`, c, '<', DEADLINE_MS, c.outcome === 'success', c.outcome === 'success' ? '' : `${c.outcome}: ${c.text.slice(0, 160)}`);
          f.judge(`${c.id}: progress notifications`, c.progress.length, '', '>=', 3);
          const reads = c.progress.filter((p) => /read/i.test(p.message ?? '')).length;
          f.info(`${c.id}: read progress notifications`, reads);
          const times = [c.startMs, ...c.progress.map((p) => p.atMs), c.endMs ?? c.startMs];
          const gap = Math.max(...times.slice(1).map((t, k) => t - times[k]!));
          f.judgeLatency(`${c.id}: longest silence`, gap, '<=', MAX_PROGRESS_GAP_MS, c.startMs);
        }
        f.info('descriptor samples', fds.samples);
        f.judge('project files open at once (peak), across the four calls', fds.maxProject, 'fds', '<', POOL_SIZE);
        f.settle();
      },
    },
    { do: 'diagnostics', label: 'after the calls' },
    {
      do: 'run',
      label: 'log records past the bound dropped and counted',
      run: async (ctx) => {
        const f = new Figures(ctx);
        const before = droppedOf([...ctx.driver.diagnostics].reverse().find((x) => x.label === 'stderr full')?.data ?? null);
        const d = droppedOf([...ctx.driver.diagnostics].reverse().find((x) => x.label === 'after the calls')?.data ?? null);
        f.info('log records dropped before the concurrent calls', before?.logs ?? null);
        f.judge('log records dropped at the blocked stderr during the concurrent calls', d && before ? d.logs - before.logs : null, 'records', '>', 0);
        f.settle();
      },
    },
  ],
  provenAgainst: { defect: 'unbounded-gather', note: 'every context file opened at once' },
});
