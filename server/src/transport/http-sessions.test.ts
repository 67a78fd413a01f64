// 2,000 initialize requests that never DELETE: the session cap holds, refusals are counted,
// idle sessions expire, and expiry really frees each session's McpServer and transport.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startHttpRig, initializeBody } from '../../test/support/http-rig.ts';
import { patience } from '@second-brain/harness';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('2,000 initializes without DELETE → capped, counted, expired and freed', { timeout: patience(120_000) }, async () => {
  const rig = await startHttpRig({ env: { SECOND_BRAIN_HTTP_MAX_SESSIONS: '40', SECOND_BRAIN_HTTP_SESSION_IDLE_MS: '3000' } });
  try {
    // FinalizationRegistry rather than WeakRef: a WeakRef's target is held for the rest of
    // the job that created or dereferenced it, which would make the check flaky.
    let registered = 0;
    let finalized = 0;
    const registry = new FinalizationRegistry<void>(() => { finalized++; });
    // In its own function, so no variable of the test's frame keeps the last session alive.
    const track = (sid: string | null): void => {
      const s = sid ? rig.http.sessions.get(sid) : undefined;
      assert.ok(s, 'an accepted session is registered');
      registry.register(s.sb.mcp);
      registry.register(s.transport);
      registered += 2;
    };
    let ok = 0;
    let refused = 0;
    for (let i = 0; i < 2_000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, async () => {
        const r = await rig.request({ body: initializeBody() });
        const sid = r.headers.get('mcp-session-id');
        await r.body?.cancel();
        return { status: r.status, sid };
      }));
      for (const b of batch) {
        if (b.status === 200) {
          ok++;
          track(b.sid);
        } else {
          assert.equal(b.status, 503);
          refused++;
        }
      }
      assert.ok(rig.http.sessions.size <= 40, `at most the cap is open (${rig.http.sessions.size})`);
    }
    // On a loaded machine the loop can outlast the idle time, so some sessions may expire
    // (and free a slot) while it runs: the accounting must still add up exactly.
    const d1 = rig.app.services.httpSessions!() as any;
    assert.equal(d1.max_sessions, 40);
    assert.equal(ok + refused, 2_000);
    assert.ok(ok >= 40 && refused >= 1_000, `the cap refused most initializes (${ok} accepted, ${refused} refused)`);
    assert.equal(d1.rejected, refused);
    assert.equal(d1.open_sessions, ok - d1.expired, 'open = accepted - expired');
    assert.ok(d1.open_sessions <= 40);

    const deadline = Date.now() + patience(15_000);
    while (rig.http.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(rig.http.sessions.size, 0, 'idle sessions expired');
    const d2 = rig.app.services.httpSessions!() as any;
    assert.equal(d2.expired, ok);
    assert.equal(d2.open_sessions, 0);

    for (let i = 0; i < 40 && finalized < registered; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(finalized, registered, `expired McpServers and transports are garbage-collected (${registered - finalized} of ${registered} still reachable)`);

    const again = await rig.request({ body: initializeBody() });
    assert.equal(again.status, 200, 'after expiry new sessions are accepted again');
    await again.body?.cancel();
  } finally {
    await rig.close();
  }
});

test('a session with a request open does not expire; it does once the request ends', { timeout: patience(30_000) }, async () => {
  const rig = await startHttpRig({ env: { SECOND_BRAIN_HTTP_SESSION_IDLE_MS: '300' } });
  try {
    const client = await rig.connect();
    // A standalone GET stream is an open request for as long as it stays open.
    await new Promise((r) => setTimeout(r, 900));
    assert.equal(rig.http.sessions.size, 1, 'the client keeps its GET stream open, so the session is busy');
    await client.close();
    const deadline = Date.now() + patience(5_000);
    while (rig.http.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(rig.http.sessions.size, 0);
  } finally {
    await rig.close();
  }
});
