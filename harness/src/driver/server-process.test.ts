import { judgeLatency } from '../reference/latency-test.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startLoopbackFake } from '../node/loopback.ts';
import { noisyToyCommand } from '../toys/toy-command.ts';
import { nowMs } from './clock.ts';
import { ServerProcess } from './server-process.ts';
import type { StderrPolicy } from './server-process.ts';
import { patience } from '../reference/patience.ts';

/**
 * The stderr policies (KI-10): a server that writes its logs synchronously to stderr
 * stalls when the client never reads the pipe, crawls when it reads slowly, and runs
 * freely when it drains. Each call writes 1 MiB, several times what the pipe and stream buffers hold.
 */

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

async function withServer(policy: StderrPolicy, body: (server: ServerProcess) => Promise<void>): Promise<void> {
  const lb = await startLoopbackFake();
  const server = await ServerProcess.start({
    command: noisyToyCommand(1024),
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'sk-stderr-test', OPENAI_BASE_URL: lb.baseUrls.openai },
    stderr: policy,
  });
  try {
    await body(server);
  } finally {
    server.drainStderr();
    await server.close();
    await lb.close();
  }
}

const ask = { name: 'chat_with_gpt41', arguments: { instructions: 'hi', session_id: 's' } };

test('drain: a noisy server answers at once and every byte of stderr is read', { timeout: patience(45_000) }, async (t) => {
  // "At once": the call's time is held to 1 s on its excess over a reference process,
  // so a loaded machine cannot fail it while a server stuck on its stderr still does.
  await judgeLatency(t, { label: 'drain: call answered', boundMs: 1_000 }, async () => {
    let ms = 0;
    await withServer({ policy: 'drain' }, async (server) => {
      const t0 = nowMs();
      const result = await server.client.callTool(ask, undefined, { timeout: patience(5_000) });
      ms = nowMs() - t0;
      assert.equal(result.isError, undefined);
      // The last bytes may still be in the pipe when the answer arrives.
      const until = nowMs() + patience(2_000);
      while (server.stderrStats().bytesRead < 1024 * 1024 && nowMs() < until) await new Promise((r) => setTimeout(r, 20));
      assert.ok(server.stderrStats().bytesRead >= 1024 * 1024, `read ${server.stderrStats().bytesRead} bytes`);
    });
    return ms;
  });
});

test('never-read: the full pipe stalls the server until the client drains it', { timeout: patience(15_000) }, async () => {
  await withServer({ policy: 'never-read' }, async (server) => {
    await assert.rejects(server.client.callTool(ask, undefined, { timeout: 1_000 }), /timed out/i);
    await assert.rejects(server.client.ping({ timeout: 300 }), /timed out/i, 'the whole event loop is stuck in a write');
    assert.equal(server.stderrStats().bytesRead, 0);
    server.drainStderr();
    await server.client.ping({ timeout: patience(2_000) });
    const result = await server.client.callTool(ask, undefined, { timeout: patience(5_000) });
    assert.equal(result.isError, undefined);
  });
});

test('read-at: a slow reader throttles the server to its reading rate', { timeout: patience(15_000) }, async () => {
  await withServer({ policy: 'read-at', bytesPerSecond: 1024 * 1024 }, async (server) => {
    const t0 = nowMs();
    const result = await server.client.callTool(ask, undefined, { timeout: patience(10_000) });
    const elapsed = nowMs() - t0;
    assert.equal(result.isError, undefined);
    // Most of the 1 MiB does not fit in the socket and stream buffers; at 1 MiB/s that takes most of a second.
    assert.ok(elapsed >= 600, `a 1 MiB burst at 1 MiB/s took only ${Math.round(elapsed)} ms`);
    // The reader takes at most its rate's share of each tick, so by now it has read at most
    // the rate times the time since the server started, plus the tick in progress.
    const sinceStartS = (nowMs() - server.startedAtMs) / 1000;
    const allowed = 1024 * 1024 * sinceStartS + 1024 * 1024 * 0.1;
    const read = server.stderrStats().bytesRead;
    assert.ok(read <= allowed, `never read faster than the rate: ${read} bytes in ${sinceStartS.toFixed(2)} s`);
  });
});
