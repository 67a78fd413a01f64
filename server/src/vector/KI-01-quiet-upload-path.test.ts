/**
 * KI-01: the upload path must not turn a burst of uploads into a burst of event-loop
 * work: per-file progress is coalesced (at most one "uploaded N/M" per 100 ms, the last
 * one always), and the rate-limit headroom of every answer reaches the metric at once
 * but the shared SQLite board at most every 250 ms (or when it halves).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rateLimitHeadroom } from '../telemetry/metrics.ts';
import { VectorStoreManager } from './manager.ts';
import type { RateLimitBoard } from '../resilience/throttle-gate.ts';
import { FAST_LIMITS, manyFiles, startFake, tempState } from '../../test/support/vector-fixtures.ts';
import { patience } from '@second-brain/harness';

test('KI-01: 90 uploads send a handful of progress messages and board writes, and the headroom metric follows every answer', { timeout: patience(20_000) }, async () => {
  const f = startFake({ account: { uploadLatencyMs: 5 } });
  const st = tempState();
  try {
    let boardWrites = 0;
    let boardReads = 0;
    const board: RateLimitBoard = {
      get: () => { boardReads++; return undefined; },
      throttle: () => {},
      headroom: () => { boardWrites++; },
    };
    const m = new VectorStoreManager({ client: f.client(), db: st.db, instanceId: 'quiet', serverName: 'second-brain', limits: FAST_LIMITS, rateLimits: board });
    const messages: string[] = [];
    const started = performance.now();
    const r = await m.attachFiles({ sessionId: 's', files: manyFiles(st.dir, 90), signal: AbortSignal.timeout(patience(15_000)), onProgress: (_d, _t, msg) => messages.push(msg) });
    const ms = performance.now() - started;
    assert.equal(r.uploaded, 90);
    const uploaded = messages.filter((msg) => msg.startsWith('uploaded '));
    assert.ok(uploaded.includes('uploaded 90/90 files'), 'the last count is always sent');
    assert.ok(uploaded.length <= ms / 100 + 2, `${uploaded.length} "uploaded" messages in ${Math.round(ms)} ms`);
    assert.ok(boardWrites >= 1 && boardWrites <= ms / 250 + 2, `${boardWrites} board writes in ${Math.round(ms)} ms`);
    assert.ok(boardReads < 90, `${boardReads} board reads for 90 uploads`);
    // The fake's bucket starts at 10 000 and counts down with every request.
    const h = rateLimitHeadroom().openai;
    assert.ok(typeof h === 'number' && h < 10_000 && h > 9_000, `headroom metric ${h}`);
  } finally {
    f.close();
    st.cleanup();
  }
});
