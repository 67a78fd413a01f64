/**
 * The KI-01 family: the same overflow query run back to back, once per candidate cause
 * of "the second query hangs". Every scenario of the family runs the same query (o3,
 * 90 files of which ~78 overflow into a vector store), each run in a new session the way
 * the seed log's runs were, so every run goes through store creation and a file batch;
 * then checks the same things:
 * - every run succeeds, and runs 2 and 3 take at most 1.5× run 1;
 * - after every run server_diagnostics shows nothing held: no call in flight, no session
 *   lock, no upload slot, no owed delete;
 * - nothing carries over but deliberate reuse: each file is uploaded once in all, each
 *   new session gets one store, and a follow-up in the first session reuses its store
 *   and uploads nothing.
 */
import type { CallStep, Step } from '../../harness/src/runner/scenario.ts';
import type { StepContext } from '../../harness/src/runner/step-context.ts';
import type { CallRecord } from '../../harness/src/driver/types.ts';

export const QUESTION = 'Where is the retry budget enforced, and what happens when it runs out?';
/** The o3 deadline: long enough for run 1 (~0.6–1.3 s), short enough to end a proof run soon. */
export const O3_DEADLINE_S = 6;
export const MAX_RATIO = 1.5;
/** 90 files of 2 KiB: with a 20 000-token window, 12 go inline and 78 to the vector store. */
export const TREE = { files: 90, sizeBytes: 2_048 } as const;
export const MODELS = { o3: { context_window: 20_000, timeout_s: O3_DEADLINE_S } };
/** Uploads of the project memory (KI-11) are named like this; they are not overflow files. */
const MEMORY_UPLOAD = /^memory-.*\.md$/;

export const ask = (session: string) => ({ instructions: QUESTION, context: ['$PROJECT'], session_id: session, disable_memory_search: true });

export function overflowCall(id: string, session: string): CallStep {
  return { do: 'call', id, tool: 'chat_with_o3', args: ask(session), timeoutMs: (O3_DEADLINE_S + 2) * 1_000, expect: { outcome: 'success' } };
}

export function durationMs(c: CallRecord): number {
  return c.endMs === null ? Number.POSITIVE_INFINITY : c.endMs - c.startMs;
}

export function callById(ctx: StepContext, id: string): CallRecord {
  const c = ctx.driver.calls.find((x) => x.id === id);
  if (!c) throw new Error(`no call "${id}" was made`);
  return c;
}

/** Files of a call's answer that went to its vector store (structured content). */
export function inStore(c: CallRecord): number {
  const context = c.structured?.context as { files_in_vector_store?: number } | undefined;
  return context?.files_in_vector_store ?? 0;
}

/** server_diagnostics after a run: nothing of the finished call may still be held. */
export async function nothingHeld(ctx: StepContext, label: string): Promise<void> {
  const d = await ctx.driver.snapshotDiagnostics(label);
  if (!d) throw new Error(`${label}: server_diagnostics gave no figures`);
  const inflight = ((d.inflight as Array<{ tool?: string; phase?: string }> | undefined) ?? []).filter((c) => c.tool !== 'server_diagnostics');
  const limiters = (d.limiters ?? {}) as { session_locks_held?: number };
  const vs = (d.vector_stores ?? {}) as { uploadsInFlight?: number; pendingDeletes?: number };
  const held = [
    inflight.length ? `${inflight.length} call(s) still in flight (${inflight.map((c) => `${c.tool} in ${c.phase}`).join(', ')})` : '',
    limiters.session_locks_held ? `${limiters.session_locks_held} session lock(s) held` : '',
    vs.uploadsInFlight ? `${vs.uploadsInFlight} upload slot(s) held` : '',
    vs.pendingDeletes ? `${vs.pendingDeletes} delete(s) owed` : '',
  ].filter(Boolean);
  ctx.driver.mark(`${label}: ${held.length ? held.join('; ') : 'no call, session lock, upload slot or owed delete held'}`, 'note');
  if (held.length) throw new Error(`${label}: ${held.join('; ')}`);
}

/** One overflow run in its own session, then the "nothing held" check. */
export function overflowRun(n: number, prefix: string): Step[] {
  return [
    overflowCall(`run-${n}`, `${prefix}-${n}`),
    { do: 'run', label: `after run ${n}: nothing held`, run: (ctx) => nothingHeld(ctx, `after run ${n}`) },
  ];
}

export interface BackToBackCheck {
  /** Call ids of the overflow runs, first one the baseline. */
  runs: string[];
  /** A call in the first run's session that must reuse its store. */
  followUp?: string;
  /** Stores the runs must have created (one per new session). */
  storesCreated: number;
}

/**
 * The family's final check (see the module comment). Throws with every figure that is
 * out of bounds; marks the measured figures on the timeline either way.
 */
export function backToBackCheck(o: BackToBackCheck): Step {
  return {
    do: 'run',
    label: `runs after the first ≤ ${MAX_RATIO}× run 1; each file uploaded once; one store per session${o.followUp ? '; the follow-up reuses its store' : ''}`,
    run: async (ctx) => {
      const runs = o.runs.map((id) => callById(ctx, id));
      const base = durationMs(runs[0]!);
      const problems: string[] = [];
      for (const c of runs) if (c.outcome !== 'success') problems.push(`${c.id} ended ${c.outcome}: ${c.text.slice(0, 160)}`);
      for (const c of runs.slice(1)) {
        const ratio = durationMs(c) / base;
        ctx.driver.mark(`${c.id}: ${Math.round(durationMs(c))} ms = ${ratio.toFixed(2)}× ${runs[0]!.id} (${Math.round(base)} ms); bound ${MAX_RATIO}×`, 'note');
        if (!(ratio <= MAX_RATIO)) problems.push(`${c.id} took ${Math.round(durationMs(c))} ms, ${ratio.toFixed(1)}× ${runs[0]!.id} (${Math.round(base)} ms); bound ${MAX_RATIO}×`);
      }
      const journal = await ctx.fake.journal();
      const uploads = journal.filter((e) => e.route === 'files.create' && e.status === 200 && !MEMORY_UPLOAD.test(e.fileName ?? ''));
      const names = uploads.map((e) => e.fileName ?? '');
      const twice = names.filter((n, i) => names.indexOf(n) !== i);
      const overflow = inStore(runs[0]!);
      ctx.driver.mark(`uploads: ${uploads.length} for ${overflow} overflow files, ${twice.length} uploaded twice`, 'note');
      if (overflow < 50) problems.push(`${runs[0]!.id} put only ${overflow} files in the vector store; the scenario needs an overflow of ~80`);
      if (twice.length) problems.push(`${twice.length} file(s) uploaded twice: ${twice.slice(0, 5).join(', ')}`);
      if (uploads.length !== overflow) problems.push(`${uploads.length} uploads for ${overflow} overflow files`);
      // Session stores only: the project memory's store is created by a single-file attach, never by a batch.
      const batchStores = new Set(journal.filter((e) => e.route === 'vector_stores.file_batches.create' && e.status === 200).map((e) => e.vectorStoreId));
      if (batchStores.size !== o.storesCreated) problems.push(`${batchStores.size} session stores filled for ${o.storesCreated} sessions`);
      if (o.followUp) {
        const follow = callById(ctx, o.followUp);
        if (follow.outcome !== 'success') problems.push(`${follow.id} ended ${follow.outcome}: ${follow.text.slice(0, 160)}`);
        const during = journal.filter((e) => e.startWallMs >= follow.startMs && (follow.endMs === null || e.startWallMs <= follow.endMs)
          && (e.route === 'vector_stores.create' || (e.route === 'files.create' && !MEMORY_UPLOAD.test(e.fileName ?? ''))));
        if (during.length) problems.push(`the follow-up in the first session sent ${during.length} store create / upload request(s) instead of reusing its store`);
        // Its inline part differs (earlier inline files are already in the chain), so its store count may too.
        if (inStore(follow) < overflow - 5) problems.push(`the follow-up had ${inStore(follow)} files in its store, expected about ${overflow}`);
      }
      if (problems.length) throw new Error(problems.join('; '));
    },
  };
}
