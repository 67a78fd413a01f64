import { defineScenario } from '../harness/src/runner/scenario.ts';
import { server, steps, tree, fake } from './KI-10-support/trace-queries.ts';

/**
 * KI-10, second variant: the client reads the server's stderr, but only 1 KiB per second,
 * far slower than `trace` logging writes it. The 20 queries must complete with the ping
 * bound intact, and what the reader cannot keep up with is dropped and counted.
 *
 * Proven against `sync-stderr-logger`: once the pipe is full (7th query) each record waits
 * for the reader to make room, so the event loop stalls for seconds at a time: ping max
 * 5.0 s, 9–12 pings failed, the queries from the 7th on time out (both modes).
 */
export default defineScenario({
  id: 'KI-10',
  name: 'slow-stderr-reader',
  title: 'stderr read at 1 KiB/s: 20 trace-level queries complete, pings stay fast, excess log records are dropped and counted',
  modes: ['in-process', 'loopback'],
  timeoutMs: 20_000,
  server: server({ policy: 'read-at', bytesPerSecond: 1_024 }),
  tree,
  fake,
  steps,
  provenAgainst: { defect: 'sync-stderr-logger', note: 'logs written through pino.destination({sync: true}) to fd 2' },
});
