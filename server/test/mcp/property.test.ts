// Random argument objects at every tool: no crash, no unhandled rejection, every call
// answered with a result or a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startRig } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

test('fast-check: random arguments never crash the server', { timeout: patience(120_000) }, async () => {
  const rig = await startRig({ roots: [process.cwd() + '/server/src/config'] });
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const tools = (await rig.client.listTools()).tools.map((t) => t.name).filter((t) => t !== 'start_job');
    const value = fc.oneof(fc.string(), fc.boolean(), fc.integer(), fc.double(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }),
      fc.constantFrom('true', 'false', 'maybe', '0.2', '-1', '[]', '["."]', '{}', '../..', '/etc/passwd'));
    const keys = fc.constantFrom('instructions', 'session_id', 'context', 'priority_context', 'reasoning_effort', 'temperature',
      'disable_memory_search', 'structured_output_schema', 'output_format', 'paths', 'query', 'max_results', 'limit', 'job_id', 'tool', 'args', 'junk');
    await fc.assert(fc.asyncProperty(fc.constantFrom(...tools), fc.dictionary(keys, value, { maxKeys: 6 }), async (tool, args) => {
      const r = await rig.call(tool, args, { timeout: patience(20_000) });
      assert.ok(Array.isArray(r.content) && r.content.length > 0, 'answered');
      if (r.isError) {
        const text = r.content.map((c: any) => c.text).join(' ');
        assert.ok(text.length > 10, 'error explains itself');
        assert.doesNotMatch(text, /undefined is not|Cannot read prop/, `not a crash: ${text}`);
      }
    }), { numRuns: 150, seed: 42 });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(unhandled, []);
    const diag = await rig.call('server_diagnostics', {});
    assert.equal((diag.structuredContent as any).inflight.length, 1, 'only the diagnostics call itself is in flight');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await rig.close();
  }
});
