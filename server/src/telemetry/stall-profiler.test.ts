import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, setLogger } from '../logging/logger.ts';
import { startTelemetry } from './start.ts';
import { testBlockLoop } from './watchdog.ts';
import { patience } from '@second-brain/harness';

const home = mkdtempSync(join(tmpdir(), 'sb-prof-'));
after(() => rmSync(home, { recursive: true, force: true }));

function blockingWork(ms: number): void {
  testBlockLoop(ms);
}

test('SECOND_BRAIN_PROFILE_ON_STALL=1 writes a CPU profile of the stall that names the blocking function', { timeout: patience(10_000) }, async () => {
  process.env.SECOND_BRAIN_TEST_HOOKS = '1';
  setLogger(createLogger({ level: 'info', destination: { write: () => true } }));
  const dir = join(home, 'telemetry', 'profiles');
  const off = startTelemetry({ home, serviceVersion: '0', env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
  await new Promise((r) => setTimeout(r, 60));
  blockingWork(250);
  await new Promise((r) => setTimeout(r, 100));
  await off.shutdown(500);
  assert.ok(!existsSync(dir), 'no profile unless enabled');

  const t = startTelemetry({ home, serviceVersion: '0', env: { SECOND_BRAIN_PROFILE_ON_STALL: '1', OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' } });
  try {
    await new Promise((r) => setTimeout(r, 60));
    blockingWork(300);
    for (let i = 0; i < 40 && !(existsSync(dir) && readdirSync(dir).length > 0); i++) await new Promise((r) => setTimeout(r, 50));
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^stall-.*\.cpuprofile$/);
    const profile = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as { nodes: Array<{ callFrame: { functionName: string } }>; samples: number[] };
    assert.ok(profile.samples.length > 10);
    assert.ok(profile.nodes.some((n) => n.callFrame.functionName === 'blockingWork'), 'the blocking function is in the profile');
  } finally {
    await t.shutdown(500);
  }
});
