/**
 * `server_diagnostics` checks for `run` steps: what the server reports as in flight,
 * read the way a person debugging a "dead or slow?" server would (KI-20).
 */
import type { StepContext } from '../../harness/src/runner/step-context.ts';

export interface InflightEntry {
  id: number;
  tool: string;
  phase: string;
  age_ms: number;
  session_id?: string;
}

/** Calls `server_diagnostics` (recorded in the evidence under `label`) and returns its payload; throws when it gives none. */
export async function diagnose(ctx: StepContext, label: string): Promise<Record<string, unknown>> {
  const data = await ctx.driver.snapshotDiagnostics(label);
  if (!data) throw new Error(`server_diagnostics gave no structured answer (${label}).`);
  return data;
}

export function inflightOf(data: Record<string, unknown>): InflightEntry[] {
  return Array.isArray(data.inflight) ? (data.inflight as InflightEntry[]) : [];
}

/**
 * Polls `server_diagnostics` until no in-flight operation of `session` is left, or fails
 * after `withinMs`: a cancelled call must stop its work, not just stop answering.
 */
export async function expectSessionIdle(ctx: StepContext, session: string, withinMs: number): Promise<void> {
  const started = Date.now();
  const deadline = started + withinMs;
  for (;;) {
    const left = inflightOf(await diagnose(ctx, `after cancel of ${session}`)).filter((c) => c.session_id === session);
    if (left.length === 0) {
      ctx.driver.mark(`${session}: no work in flight ${Date.now() - started} ms after the check began`, 'note');
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`Session ${session} still has work in flight ${withinMs} ms after its call was cancelled: ${left.map((c) => `${c.tool} in ${c.phase} for ${c.age_ms} ms`).join(', ')}.`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
