import { readFile, readlink, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { CallStep } from '../harness/src/runner/scenario.ts';
import type { StepContext } from '../harness/src/runner/step-context.ts';
import type { CallRecord } from '../harness/src/driver/types.ts';
import type { MirroredEntry } from '../harness/src/driver/fake-link.ts';
import { ServerProcess } from '../harness/src/driver/server-process.ts';
import { nowMs } from '../harness/src/driver/clock.ts';

/**
 * KI-14: the provider does not deduplicate files, and the first version uploaded the
 * same files again on every query.
 *
 * Inject (loopback: a second server process shares the fake and the state dir):
 * - the same overflow context three times (sessions a, b, then a again);
 * - one overflow file changed, asked again in session a;
 * - one overflow file renamed, asked again in session a;
 * - ten overflow files changed, then the same query sent at the same moment through this
 *   server and through a second server process started on the same state directory.
 *
 * Overflow is packed into bundles (one document for this project's ~170 kB of overflow),
 * each keyed by its members' paths and content, so "uploaded once" is checked per bundle.
 *
 * Expect:
 * - unchanged content is uploaded once: the 2nd and 3rd query upload nothing, and a new
 *   session reuses the uploads;
 * - a changed file is uploaded again (its bundle, exactly once) and the old copy is removed
 *   from the session's store; a renamed file likewise;
 * - the two processes upload the bundle holding the ten changed files once between them.
 *
 * The files the scenario changes first grow by 6 kB, which makes them the largest files and
 * so certainly overflow in every call (the budget takes the smallest first): a change is
 * then a change of content in the same bundle, not a file moving between inline and store.
 *
 * The run step starts the second process itself (the harness drives one server): the
 * same command line, working directory and environment as the first, read from /proc.
 *
 * Proven against `dedup-by-path-only` (the upload key without the content hash, so the
 * changed file is "already uploaded"): the check after the change fails with "the
 * changed file was uploaded 0 times, expected once".
 */

const O3_DEADLINE_S = 8;
const ask = (session: string) => ({ instructions: 'Where is the retry budget enforced?', context: ['$PROJECT'], session_id: session, disable_memory_search: true });
const call = (id: string, session: string): CallStep => ({ do: 'call', id, tool: 'chat_with_o3', args: ask(session), timeoutMs: (O3_DEADLINE_S + 2) * 1_000, expect: { outcome: 'success' } });

/** Files picked from the first query's uploads (so they are overflow files), by role. */
const picked = { changed: '', renamedFrom: '', renamedTo: '', many: [] as string[] };

function callById(ctx: StepContext, id: string): CallRecord {
  const c = ctx.driver.calls.find((x) => x.id === id);
  if (!c) throw new Error(`no call "${id}" was made`);
  return c;
}

function during(journal: MirroredEntry[], c: Pick<CallRecord, 'startMs' | 'endMs'>, route: string): MirroredEntry[] {
  return journal.filter((e) => e.route === route && e.startWallMs >= c.startMs && (c.endMs === null || e.startWallMs <= c.endMs));
}

const storeOf = (c: CallRecord) => String((c.structured?.context as { vector_store_id?: string } | undefined)?.vector_store_id ?? '');

/** Appends `line` `times` times (default: about 6 kB of it). */
async function appendLine(ctx: StepContext, rel: string, line: string, times = Math.ceil(6_000 / (line.length + 1))): Promise<void> {
  const p = join(ctx.tree!.root, rel);
  await writeFile(p, `${await readFile(p, 'utf8')}\n${`${line}\n`.repeat(times)}`);
}

const okUploads = (journal: MirroredEntry[], c: Pick<CallRecord, 'startMs' | 'endMs'>) => during(journal, c, 'files.create').filter((e) => e.status === 200);

function check(problems: string[]): void {
  if (problems.length) throw new Error(problems.join('; '));
}

export default defineScenario({
  id: 'KI-14',
  name: 'dedup',
  title: 'Each file content is uploaded once per path, across queries, sessions and processes',
  modes: ['loopback'],
  timeoutMs: 45_000,
  server: { models: { o3: { context_window: 20_000, timeout_s: O3_DEADLINE_S } }, env: { SECOND_BRAIN_MEMORY: 'false' } },
  tree: { files: 90, sizeBytes: 2_048 },
  steps: [
    {
      do: 'run',
      label: 'the files this scenario changes grow by 6 kB first, so they overflow in every call',
      run: async (ctx) => {
        // Files from the middle of the sorted tree (never a bundle's first member).
        const names = [...ctx.tree!.files].sort();
        picked.changed = names[10]!;
        picked.renamedFrom = names[20]!;
        picked.many = names.slice(30, 40);
        for (const rel of [picked.changed, picked.renamedFrom, ...picked.many]) await appendLine(ctx, rel, '// padding');
      },
    },
    call('first', 'ki14-a'),
    call('other-session', 'ki14-b'),
    call('again', 'ki14-a'),
    {
      do: 'run',
      label: 'the same context three times: uploaded once',
      run: async (ctx) => {
        const journal = await ctx.fake.journal();
        const first = during(journal, callById(ctx, 'first'), 'files.create').filter((e) => e.status === 200);
        const later = ['other-session', 'again'].map((id) => during(journal, callById(ctx, id), 'files.create').length);
        ctx.driver.mark(`uploads: first ${first.length}, other session ${later[0]}, again ${later[1]}`, 'note');
        const inStore = Number((callById(ctx, 'first').structured?.context as { files_in_vector_store?: number } | undefined)?.files_in_vector_store ?? 0);
        check([
          first.length < 1 || inStore < 50 ? `the first query uploaded ${first.length} bundle(s) holding ${inStore} files` : '',
          first.some((e) => !(e.fileName ?? '').endsWith('.bundle.txt')) ? 'an upload was not a bundle' : '',
          later[0] ? `a new session uploaded ${later[0]} file(s) again` : '',
          later[1] ? `the same session uploaded ${later[1]} file(s) again` : '',
        ].filter(Boolean));
      },
    },
    { do: 'run', label: 'one file changes', run: (ctx) => appendLine(ctx, picked.changed, '// changed', 1) },
    call('changed', 'ki14-a'),
    {
      do: 'run',
      label: 'the changed file is uploaded again and its old copy removed from the store',
      run: async (ctx) => {
        const journal = await ctx.fake.journal();
        const c = callById(ctx, 'changed');
        const uploads = okUploads(journal, c);
        // The bundle that held the file before: an earlier upload, now detached from this store.
        const oldIds = journal.filter((e) => e.route === 'files.create' && e.status === 200 && e.startWallMs < c.startMs).map((e) => e.fileId);
        const detached = during(journal, c, 'vector_stores.files.delete').filter((e) => e.status === 200);
        const store = storeOf(c);
        ctx.driver.mark(`after the change: ${uploads.length} upload(s), ${detached.length} detach(es)`, 'note');
        check([
          uploads.length !== 1 ? `the changed file's bundle was uploaded ${uploads.length} times, expected once` : '',
          !detached.some((e) => oldIds.includes(e.fileId) && e.vectorStoreId === store) ? `the old copy was not removed from the session's store ${store}` : '',
        ].filter(Boolean));
      },
    },
    {
      do: 'run',
      label: 'one file is renamed',
      run: async (ctx) => {
        const from = picked.renamedFrom;
        picked.renamedTo = join(dirname(from), `zz_renamed_${basename(from)}`);
        await rename(join(ctx.tree!.root, from), join(ctx.tree!.root, picked.renamedTo));
      },
    },
    call('renamed', 'ki14-a'),
    {
      do: 'run',
      label: 'the renamed file is uploaded under its new path; the old path’s copy is removed',
      run: async (ctx) => {
        const journal = await ctx.fake.journal();
        const c = callById(ctx, 'renamed');
        const uploads = okUploads(journal, c);
        // The bundle that held the file before: an earlier upload, now detached from this store.
        const oldIds = journal.filter((e) => e.route === 'files.create' && e.status === 200 && e.startWallMs < c.startMs).map((e) => e.fileId);
        const detached = during(journal, c, 'vector_stores.files.delete').filter((e) => e.status === 200);
        ctx.driver.mark(`after the rename: ${uploads.length} upload(s), ${detached.length} detach(es)`, 'note');
        check([
          uploads.length !== 1 ? `the renamed file's bundle was uploaded ${uploads.length} times, expected once` : '',
          !detached.some((e) => oldIds.includes(e.fileId) && e.vectorStoreId === storeOf(c)) ? 'the copy holding the old path was not removed from the store' : '',
        ].filter(Boolean));
      },
    },
    {
      do: 'run',
      label: 'ten files change; two processes on one state dir ask at the same moment',
      run: async (ctx) => {
        for (const rel of picked.many) await appendLine(ctx, rel, '// changed for two processes', 1);
        // The second process: the first one's command line, working directory and environment.
        const pid = ctx.driver.server.pid;
        const [cmdline, environ, cwd] = await Promise.all([readFile(`/proc/${pid}/cmdline`, 'utf8'), readFile(`/proc/${pid}/environ`, 'utf8'), readlink(`/proc/${pid}/cwd`)]);
        const command = cmdline.split('\0').filter(Boolean).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
        const env = Object.fromEntries(environ.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
        const second = await ServerProcess.start({ command, cwd, env, stderr: { policy: 'drain' }, roots: [ctx.tree!.root], generation: 100 });
        try {
          const args = (session: string) => ({ ...ask(session), context: [ctx.tree!.root] });
          const started = nowMs();
          const [a, b] = await Promise.all([
            ctx.driver.call({ id: 'process-1', tool: 'chat_with_o3', args: args('ki14-p1'), timeoutMs: (O3_DEADLINE_S + 2) * 1_000 }),
            second.client.callTool({ name: 'chat_with_o3', arguments: args('ki14-p2') }, undefined, { timeout: (O3_DEADLINE_S + 2) * 1_000 }),
          ]);
          const journal = await ctx.fake.journal();
          const uploads = journal.filter((e) => e.route === 'files.create' && e.startWallMs >= started);
          const inStore = (x: unknown) => Number((x as { context?: { files_in_vector_store?: number } } | undefined)?.context?.files_in_vector_store ?? 0);
          ctx.driver.mark(`two processes: ${uploads.length} upload(s) in all for ${picked.many.length} changed files`, 'note');
          check([
            a.outcome !== 'success' ? `process 1 ended ${a.outcome}: ${a.text.slice(0, 160)}` : '',
            b.isError ? `process 2 failed: ${JSON.stringify(b.content).slice(0, 160)}` : '',
            uploads.length !== 1 ? `${uploads.length} uploads between the two processes for the one bundle holding the ${picked.many.length} changed files, expected 1` : '',
            // Both answers used the files: each process's store got the whole overflow.
            inStore(a.structured) < 70 || inStore(b.structuredContent) < 70 ? `stores of the two processes hold ${inStore(a.structured)} and ${inStore(b.structuredContent)} files` : '',
          ].filter(Boolean));
        } finally {
          await second.close();
        }
      },
    },
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency grows to 13-16, plus batch polls), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs (up to 22 sockets, ~10 for the 2 tokenizer workers)',
    },
  },
  provenAgainst: { defect: 'dedup-by-path-only', note: 'the upload key without the content hash' },
});
