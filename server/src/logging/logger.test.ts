import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './logger.ts';

test('a record that logs pid or service has each key once, the base value first', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: { write: (s: string) => lines.push(s) } });
  log.info({ pid: process.pid, version: '1' }, 'started');
  log.info({ pid: 4242, service: 'child' }, 'child exited');
  assert.equal(lines.length, 2);
  for (const line of lines) {
    assert.equal(line.match(/"pid":/g)?.length, 1, line);
    assert.equal(line.match(/"service":/g)?.length, 1, line);
  }
  const second = JSON.parse(lines[1]!);
  assert.equal(second.pid, process.pid);
  assert.equal(second.subject_pid, 4242);
  assert.equal(second.subject_service, 'child');
});
