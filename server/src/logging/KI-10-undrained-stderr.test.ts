// KI-10: a client that never reads stderr must not block the server. The writer drops
// (and counts) what the full pipe cannot take, instead of blocking the loop, parking a
// libuv pool thread, or queueing without bound. Both kinds of "pipe" clients use are
// covered: a FIFO (most launchers) and a socketpair (Node's child_process 'pipe').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, constants, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { judgeLatency } from '../../../harness/src/reference/latency-test.ts';
import { patience } from '@second-brain/harness';

const writerPath = fileURLToPath(new URL('./stderr-writer.ts', import.meta.url));
const BOUND = 256 * 1024;

const workload = (write: string) => `
  import { monitorEventLoopDelay } from 'node:perf_hooks';
  import { StderrWriter } from ${JSON.stringify(writerPath)};
  const w = new StderrWriter({ maxBufferBytes: ${BOUND} });
  const h = monitorEventLoopDelay({ resolution: 5 }); h.enable();
  const line = JSON.stringify({ level: 30, msg: 'x'.repeat(500) }) + '\\n';
  let i = 0;
  await new Promise((done) => {
    const tick = () => { for (let k = 0; k < 200; k++) { ${write}; i++; } if (i < 20000) setImmediate(tick); else done(); };
    tick();
  });
  h.disable();
  const pending = ${write.startsWith('w.') ? 'w.pendingBytes' : 'process.stderr.writableLength'};
  process.stdout.write(JSON.stringify({ maxMs: h.max / 1e6, dropped: w.dropped, pending, written: w.written }));
  process.exit(0);
`;

interface Outcome { out: string; timedOut: boolean }

function collect(p: ReturnType<typeof spawn>, timeoutMs: number, cleanup = () => {}): Promise<Outcome> {
  return new Promise((resolve) => {
    let out = '';
    p.stdout!.on('data', (d) => { out += d; });
    const t = setTimeout(() => { p.kill('SIGKILL'); cleanup(); resolve({ out, timedOut: true }); }, timeoutMs);
    p.on('exit', () => { clearTimeout(t); cleanup(); resolve({ out, timedOut: false }); });
  });
}

/** stderr is a socketpair that this test never reads (how Node spawns children). */
function runSocketpair(code: string, timeoutMs: number): Promise<Outcome> {
  const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(p, timeoutMs);
}

/** stderr is a FIFO held open for reading but never read (how shells and most launchers spawn). */
function runFifo(code: string, timeoutMs: number): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-ki10-'));
  const fifo = join(dir, 'stderr');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const p = spawn('sh', ['-c', `exec "$0" --input-type=module -e "$1" 2>"$2"`, process.execPath, code, fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
  return collect(p, timeoutMs, () => { closeSync(reader); rmSync(dir, { recursive: true, force: true }); });
}

for (const [kind, run] of [['FIFO', runFifo], ['socketpair', runSocketpair]] as const) {
  test(`KI-10 (${kind}): 10 MB of logs into an unread stderr neither blocks the loop nor grows memory`, { timeout: patience(60_000) }, async (t) => {
    // The child's loop delay is judged on its excess over a reference process sampling its
    // own loop (same resolution) over the same window: the machine's share is not the writer's.
    await judgeLatency(t, { label: `KI-10 (${kind}) writer's event-loop delay max`, boundMs: 50, compareWith: 'loop', loopResolutionMs: 5 }, async () => {
      const { out, timedOut } = await run(workload('w.write(line)'), 15_000);
      assert.equal(timedOut, false, 'the writer must never block on a full pipe');
      const r = JSON.parse(out);
      assert.ok(r.dropped > 0, 'records past the bound are dropped and counted');
      assert.ok(r.pending <= BOUND, `buffer bounded: ${r.pending} bytes pending`);
      return r.maxMs as number;
    });
  });
}

test('KI-10 control (FIFO): plain process.stderr.write blocks, or queues without bound, on a full pipe', { timeout: patience(10_000) }, async () => {
  // Which of the two depends on the Node release and platform; either is the defect.
  const { out, timedOut } = await runFifo(workload('process.stderr.write(line)'), 3_000);
  const pending = timedOut ? Infinity : JSON.parse(out).pending;
  assert.ok(timedOut || pending > 4 * BOUND, `blocked=${timedOut} pending=${pending}`);
});

test('KI-10 control (socketpair): plain process.stderr.write queues without bound', { timeout: patience(20_000) }, async () => {
  const { out, timedOut } = await runSocketpair(workload('process.stderr.write(line)'), 15_000);
  assert.equal(timedOut, false);
  const r = JSON.parse(out);
  assert.ok(r.pending > 4 * BOUND, `unbounded queue: ${r.pending} bytes pending`);
});
