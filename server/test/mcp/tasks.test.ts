// KI-06: a client that supports MCP tasks can start a chat call, drop it, and fetch the
// result later; tasks/cancel cancels the work upstream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallToolResultSchema, CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

test('tools/call as a task returns at once; tasks/get and tasks/result deliver the answer', { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ env: { SECOND_BRAIN_TIME_SCALE: '0.1' }, fake: { faults: [{ route: 'responses.create', fault: { type: 'background', queuedMs: 1_500, inProgressMs: 300 } }] } });
  try {
    const tools = await rig.client.listTools();
    assert.equal(tools.tools.find((t) => t.name === 'chat_with_o3_pro')!.execution?.taskSupport, 'optional');
    const t0 = Date.now();
    const created = await rig.client.request({ method: 'tools/call', params: { name: 'chat_with_o3_pro', arguments: { instructions: 'deep', session_id: 'task1' }, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
    assert.ok(Date.now() - t0 < 1_000, 'the task was created without waiting for the answer');
    const taskId = created.task.taskId;
    let status = created.task.status;
    while (status === 'working') {
      await new Promise((r) => setTimeout(r, 200));
      status = (await rig.client.experimental.tasks.getTask(taskId)).status;
    }
    assert.equal(status, 'completed');
    const result = await rig.client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    assert.equal(result.isError, undefined, textOf(result as any));
    assert.ok((result.structuredContent as any).text.length > 0);
  } finally {
    await rig.close();
  }
});

test('tasks/cancel aborts the task and cancels the background response upstream', { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ env: { SECOND_BRAIN_TIME_SCALE: '0.1' }, fake: { faults: [{ route: 'responses.create', fault: { type: 'background', queuedMs: 60_000 } }] } });
  try {
    const created = await rig.client.request({ method: 'tools/call', params: { name: 'chat_with_o3_pro', arguments: { instructions: 'x', session_id: 'task2' }, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
    await rig.fake.journal.waitFor((e) => e.route === 'responses.retrieve', patience(5_000));
    await rig.client.experimental.tasks.cancelTask(created.task.taskId);
    await rig.fake.journal.waitFor((e) => e.route === 'responses.cancel', patience(3_000));
    assert.equal((await rig.client.experimental.tasks.getTask(created.task.taskId)).status, 'cancelled');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rig.app.inflight.size, 0);
  } finally {
    await rig.close();
  }
});
