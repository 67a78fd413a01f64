/**
 * What the fake API saw, for `run` steps: checks that name one call's window of the
 * journal (the cancellation probe's bounds apply to every cancelled call of a scenario
 * alike; these are per call).
 */
import type { MirroredEntry } from '../../harness/src/driver/fake-link.ts';
import type { CallRecord } from '../../harness/src/driver/types.ts';
import type { StepContext } from '../../harness/src/runner/step-context.ts';

export function callRecord(ctx: StepContext, callId: string): CallRecord {
  const call = ctx.driver.calls.find((c) => c.id === callId);
  if (!call) throw new Error(`No call ${callId} was made.`);
  return call;
}

/**
 * Waits up to `withinMs` after call `callId` was cancelled for a request on `route`
 * (e.g. `responses.cancel`) that started after the cancel; fails when none came.
 */
export async function expectUpstreamAfterCancel(ctx: StepContext, callId: string, route: string, withinMs = 1_000): Promise<MirroredEntry> {
  const call = callRecord(ctx, callId);
  if (!call.cancel) throw new Error(`Call ${callId} was not cancelled.`);
  const at = call.cancel.atMs;
  const deadline = at + withinMs;
  for (;;) {
    const hit = (await ctx.fake.journal()).find((e) => e.route === route && e.startWallMs >= Math.floor(at) - 1);
    if (hit) {
      ctx.driver.mark(`${callId}: ${route} ${Math.round(hit.startWallMs - at)} ms after the cancel`, 'note');
      return hit;
    }
    if (Date.now() > deadline) throw new Error(`No ${route} request reached the provider within ${withinMs} ms of the cancel of ${callId}.`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Requests on `route` that started while call `callId` ran (from its start to its end). */
export async function requestsDuring(ctx: StepContext, callId: string, route: string): Promise<MirroredEntry[]> {
  const call = callRecord(ctx, callId);
  const end = call.endMs ?? Date.now();
  return (await ctx.fake.journal()).filter((e) => e.route === route && e.startWallMs >= Math.floor(call.startMs) - 1 && e.startWallMs <= end + 1);
}
