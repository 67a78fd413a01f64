import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineScenario } from '../harness/src/runner/scenario.ts';
import { Figures } from './KI-08-support/figures.ts';
import { writeProject } from './KI-08-support/project.ts';

/**
 * KI-08, KI-12, KI-19 at a size the other scenarios never tried: a context of 20,000 small
 * files to a model whose window holds a few hundred of them. The first version's successor
 * sent the overflow as one upload per file (6,520 uploads for 10,000 files, ping max 264 ms,
 * 2.5 GB resident; out of memory at 50,000). Expect: the call succeeds before its deadline;
 * the overflow goes up packed in bundles, at most one upload per 4 MB of overflow; every one
 * of the 20,000 files is accounted for (inline or in the vector store: nothing lost); the
 * server's peak resident memory stays under 600 MB; and the common rules (ping < 100 ms all
 * through) hold.
 *
 * Proven against `per-file-uploads` (one upload per overflow file): 812 uploads made before
 * the call ran into its 60 s deadline (bound 1), peak resident memory 1,929 MB (bound 600),
 * ping max 5.2 s with 6 pings lost.
 */

const FILES = 20_000;
const DEADLINE_MS = 60_000;
const MB = 1_048_576;
const PEAK_RSS_MAX_MB = 600;

async function peakRssMb(pid: number): Promise<number | null> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(text)?.[1];
  return kb ? Number(kb) / 1024 : null;
}

export default defineScenario({
  id: 'KI-08',
  name: 'twenty-thousand-files',
  title: '20,000 files with an overflowing model: a few bundled uploads, every file accounted for, memory and loop bounded',
  // Loopback: uploads go over real sockets, as they do to the provider.
  modes: ['loopback'],
  timeoutMs: 120_000,
  server: {
    // About 300 of the 20,000 files fit inline; the rest overflow to the vector store.
    models: { 'gpt-4.1': { context_window: 40_000, timeout_s: DEADLINE_MS / 1_000 } },
    env: { SECOND_BRAIN_MEMORY: 'false' },
  },
  steps: [
    {
      do: 'run',
      label: `a context of ${FILES.toLocaleString('en-US')} files to an overflowing model`,
      run: async (ctx) => {
        const f = new Figures(ctx);
        const root = join(ctx.workDir, 'project');
        await writeProject(root, FILES);
        const call = await ctx.driver.call({
          id: 'twenty-thousand', tool: 'chat_with_gpt41', timeoutMs: DEADLINE_MS + 5_000,
          args: { instructions: 'Summarise this project.', session_id: 'ki08-20k', context: [root], disable_memory_search: true },
        });
        f.judgeCall('call succeeded before its deadline', call, '<', DEADLINE_MS, call.outcome === 'success', call.outcome === 'success' ? '' : call.text.slice(0, 200));
        const journal = await ctx.fake.journal();
        const uploads = journal.filter((e) => e.route === 'files.create' && e.status === 200);
        const state = await ctx.fake.state();
        const overflowBytes = state.files.reduce((n, x) => n + x.bytes, 0);
        const allowed = Math.max(1, Math.ceil(overflowBytes / (4 * MB)));
        f.judge('uploads (at most one per 4 MB of overflow)', uploads.length, '', '<=', allowed, `${(overflowBytes / MB).toFixed(1)} MB uploaded`);
        const c = (call.structured?.context ?? {}) as { files_inline?: number; files_in_vector_store?: number; not_attached?: unknown[] };
        const accounted = (c.files_inline ?? 0) + (c.files_in_vector_store ?? 0);
        f.judge('files accounted for (inline + in the vector store)', accounted, 'files', '==', FILES, `${c.files_inline ?? 0} inline, ${c.files_in_vector_store ?? 0} in the store`);
        f.judge('files not attached', c.not_attached?.length ?? 0, 'files', '==', 0);
        f.judge('server peak resident memory (VmHWM)', await peakRssMb(ctx.driver.server.pid), 'MB', '<=', PEAK_RSS_MAX_MB);
        f.settle();
      },
    },
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps keep-alive sockets to the fake for the upload and batch requests, and the reader and tokenizer threads hold their own event loops (the same bound as KI-14).',
    },
  },
  provenAgainst: { defect: 'per-file-uploads', note: 'one upload per overflow file, no bundles' },
});
