import { request } from 'node:http';
import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { Step } from '../harness/src/runner/scenario.ts';
import type { StepContext } from '../harness/src/runner/step-context.ts';
import { FILE_TRACES_ENV, callTrace } from './KI-20-support/traces.ts';

/**
 * KI-16: the next query failed at a random place, at a steady time (about 47 s) after the
 * previous one finished: a pooled keep-alive connection had been closed by the other
 * side, and the next request went out on the dead socket.
 *
 * Loopback only (real sockets). Time scale 47: the fake drops a connection idle for
 * T = 47 s → 1 s, either closing it (FIN) or resetting it (RST), or resets the next
 * request that arrives on a reused connection; the next query comes 20 ms after T. The
 * query succeeds; when it did meet a dead socket it was retried exactly once, on a new
 * connection, and the retry shows in its trace. In the runs the pool had already dropped
 * the closed and the reset idle sockets (no failure, one new connection each); the reset
 * on reuse always met the dead socket and was retried once, on one new connection.
 *
 * Proven against no-connection-retry: the query after the reset failed with
 * "connection failed" (SB_ERR_UPSTREAM_ERROR).
 */

const TIME_SCALE = 47;
const IDLE_CLOSE_MS = 1_000;
const JUST_AFTER_MS = 20;

interface ConnectionStats { opened: number; closedIdle: number; resetOnReuse: number; open: number }

/**
 * The loopback fake's connection controls (`POST /_control/connections`), found through the
 * server's OPENAI_BASE_URL. Each control request uses a connection of its own (`agent:
 * false`): a kept-alive one would itself be reset by `resetNextReused`. So `opened` counts
 * one connection per control request, which `serverConnectionsOpened` takes off.
 */
function connections(ctx: StepContext, body: Record<string, unknown> = {}): Promise<ConnectionStats> {
  const env = (ctx.driver.server.transport as unknown as { _serverParams: { env: Record<string, string> } })._serverParams.env;
  const url = new URL('/_control/connections', new URL(env.OPENAI_BASE_URL!).origin);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, timeout: 2_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as ConnectionStats) : reject(new Error(`POST /_control/connections: ${res.statusCode} ${text}`))));
    });
    req.on('timeout', () => req.destroy(new Error('POST /_control/connections timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Connections the server opened between two control requests (the second one's own connection excluded). */
const serverConnectionsOpened = (before: ConnectionStats, after: ConnectionStats) => after.opened - before.opened - 1;

const ask = (session: string) => ({ instructions: 'Summarise the project in one line.', session_id: session, disable_memory_search: true });

/**
 * One case: the fault, a call that leaves a kept-alive connection, a pause of T + 20 ms,
 * then the query. It must succeed; if its first attempt died on the pooled socket, there
 * was exactly one retry, a new connection was opened for it, and the trace shows it.
 */
function deadConnectionCase(name: string, fault: { before?: Record<string, unknown>; after?: Record<string, unknown>; pauseMs: number }, mustFail: boolean): Step {
  return {
    do: 'run',
    label: `${name}: the query after the pooled connection died`,
    run: async (ctx) => {
      // An idle-close policy goes first: a connection's idle timer is armed when its last response ends.
      if (fault.before) await connections(ctx, fault.before);
      const warm = await ctx.driver.call({ id: `${name}-warm`, tool: 'chat_with_gpt41', args: ask(`ki16-${name}-warm`), timeoutMs: 5_000 });
      if (warm.outcome !== 'success') throw new Error(`${name}: the first call failed: ${warm.text.slice(0, 200)}`);
      if (fault.after) await connections(ctx, fault.after);
      await new Promise((r) => setTimeout(r, fault.pauseMs));
      const before = await connections(ctx);
      const id = `${name}-next`;
      const next = await ctx.driver.call({ id, tool: 'chat_with_gpt41', args: ask(`ki16-${name}`), timeoutMs: 5_000 });
      const after = await connections(ctx, { idleCloseMs: null });
      if (next.outcome !== 'success') throw new Error(`${name}: the query after the dead connection failed: ${next.outcome}: ${next.text.slice(0, 200)}`);
      const posts = (await ctx.fake.journal()).filter((e) => e.route === 'responses.create' && e.startWallMs >= next.startMs - 1);
      const { spans } = await callTrace(ctx, id);
      const retries = spans.flatMap((s) => s.events).filter((e) => e.name === 'second_brain.retry').length + spans.filter((s) => s.name === 'retry.wait').length;
      const failedFirst = after.resetOnReuse > before.resetOnReuse || retries > 0;
      if (mustFail && !failedFirst) throw new Error(`${name}: the query never met the dead connection; the case proves nothing.`);
      if (failedFirst) {
        const waits = spans.filter((s) => s.name === 'retry.wait').length;
        if (waits !== 1) throw new Error(`${name}: expected exactly one retry in the trace, saw ${waits}.`);
        if (serverConnectionsOpened(before, after) < 1) throw new Error(`${name}: the retry did not open a new connection.`);
      }
      ctx.driver.mark(`${name}: ${failedFirst ? 'met the dead socket, retried once' : 'the pool had already dropped the socket'}; ${posts.length} request(s) reached the fake; ${serverConnectionsOpened(before, after)} new connection(s)`, 'note');
    },
  };
}

export default defineScenario({
  id: 'KI-16',
  name: 'dead-keepalive',
  title: 'A pooled connection closed by the far side costs one retry, not a failure',
  timeScale: TIME_SCALE,
  modes: ['loopback'],
  timeoutMs: 20_000,
  server: { env: { SECOND_BRAIN_MEMORY: 'false', ...FILE_TRACES_ENV } },
  steps: [
    // The far side closes (FIN) or resets (RST) a connection idle for T; the query comes at T + 20 ms.
    deadConnectionCase('idle-close', { before: { idleCloseMs: IDLE_CLOSE_MS, idleMode: 'close' }, pauseMs: IDLE_CLOSE_MS + JUST_AFTER_MS }, false),
    deadConnectionCase('idle-reset', { before: { idleCloseMs: IDLE_CLOSE_MS, idleMode: 'reset' }, pauseMs: IDLE_CLOSE_MS + JUST_AFTER_MS }, false),
    // The far side dropped it without telling: the next request on the reused connection is reset.
    deadConnectionCase('reset-on-reuse', { after: { resetNextReused: 1 }, pauseMs: JUST_AFTER_MS }, true),
  ],
  provenAgainst: { defect: 'no-connection-retry', note: 'the request that meets the reset connection fails with "connection failed"' },
});
