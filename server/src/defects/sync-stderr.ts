/**
 * `sync-stderr-logger` (KI-10): the log destination for the logger's seam
 * (CreateLoggerOptions.destination), passed by defects/seams.ts when the switch is on.
 * pino's default destination writes to fd 2 synchronously and retries until the pipe
 * takes the record, so a client that never reads stderr blocks the event loop.
 */
import pino from 'pino';

export function syncStderrDestination(): { write(s: string): unknown } {
  return pino.destination({ dest: 2, sync: true });
}
