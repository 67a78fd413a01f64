import { defineScenario } from '../harness/src/runner/scenario.ts';
import { server, steps, tree, fake } from './KI-10-support/trace-queries.ts';

/**
 * KI-10: the client never reads the server's stderr. Debug output was "swallowed" and
 * more of it made the hang come earlier: a log handler blocked once the pipe's buffer
 * filled. Here stderr is a pipe nobody reads, the server logs at `trace` (every span's
 * start and end), and 20 queries run: each must complete, the ping bound must hold, and
 * the records the pipe cannot take must be dropped and counted, not queued forever.
 *
 * Proven against `sync-stderr-logger` (pino's synchronous destination): the pipe fills
 * during the 7th query, the event loop blocks in write(2) for good, and from then on every
 * ping fails (ping max 5.0 s, 9–12 failed) and every query times out (both modes).
 */
export default defineScenario({
  id: 'KI-10',
  name: 'unread-stderr',
  title: 'stderr never read: 20 trace-level queries complete, pings stay fast, excess log records are dropped and counted',
  modes: ['in-process', 'loopback'],
  timeoutMs: 20_000,
  server: server({ policy: 'never-read' }),
  tree,
  fake,
  steps,
  provenAgainst: { defect: 'sync-stderr-logger', note: 'logs written through pino.destination({sync: true}) to fd 2' },
});
