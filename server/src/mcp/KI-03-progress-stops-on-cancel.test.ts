// KI-03 / KI-04: once the client cancelled, the call's progress token is dead: the
// heartbeat stops at the cancel, not when the work has wound down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRig } from '../../test/support/in-process.ts';
import { runTool, type Extra } from './tool-call.ts';
import { patience } from '@second-brain/harness';

test('no progress (heartbeat included) is sent for a call after its cancel', { timeout: patience(20_000) }, async () => {
  // Heartbeat every 5 s × 0.01 = 50 ms.
  const rig = await startRig({ env: { SECOND_BRAIN_TIME_SCALE: '0.01' } });
  try {
    const sent: Array<{ atMs: number; message?: string }> = [];
    const controller = new AbortController();
    const extra = {
      signal: controller.signal, requestId: 7, _meta: { progressToken: 7 },
      sendNotification: async (n: { params: { message?: string } }) => { sent.push({ atMs: performance.now(), message: n.params.message }); },
    } as unknown as Extra;
    let cancelledAt = 0;
    const result = await runTool(rig.app, {}, { transport: 'pipe', sessionId: 's', protocolVersion: () => undefined }, 'slow_tool', extra, async (ctx) => {
      ctx.progress('working');
      controller.abort();
      cancelledAt = performance.now();
      // The work winds down slowly after the cancel, long enough for several heartbeats.
      await new Promise((r) => setTimeout(r, 300));
      ctx.progress('still winding down');
      return { content: [{ type: 'text', text: 'late' }] };
    });
    assert.equal(result.content[0]?.type, 'text');
    assert.ok(sent.length >= 1, 'progress was sent before the cancel');
    assert.deepEqual(sent.filter((s) => s.atMs > cancelledAt).map((s) => s.message), [], 'nothing after the cancel');
  } finally {
    await rig.close();
  }
});
