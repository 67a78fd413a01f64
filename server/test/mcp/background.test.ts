// KI-06: long background responses send progress, reach the client, and survive restarts via jobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRig, textOf } from '../support/in-process.ts';
import { patience } from '@second-brain/harness';

test('o3-pro runs in background mode: polling sends progress at least every interval and the answer arrives', { timeout: patience(30_000) }, async () => {
  // Time compressed 10x: progress heartbeat 500 ms, polling 100–500 ms.
  const rig = await startRig({ env: { SECOND_BRAIN_TIME_SCALE: '0.1' }, fake: { faults: [{ route: 'responses.create', fault: { type: 'background', queuedMs: 3_000, inProgressMs: 1_500 } }] } });
  try {
    const progress: Array<{ t: number; message?: string }> = [];
    const t0 = Date.now();
    const r = await rig.call('chat_with_o3_pro', { instructions: 'think hard', session_id: 'bg1' }, {
      onprogress: (p) => progress.push({ t: Date.now() - t0, message: p.message }),
      timeout: 2_000, // shorter than the answer: only progress keeps the call alive
    });
    assert.equal(r.isError, undefined, textOf(r));
    assert.ok((r.structuredContent as any).text.length > 0);
    const create = rig.fake.journal.entries().find((e) => e.route === 'responses.create')!;
    assert.equal(create.background, true);
    assert.ok(progress.length >= 3, `${progress.length} progress notifications`);
    assert.ok(progress.some((p) => /queued/.test(p.message ?? '')));
    assert.ok(progress.some((p) => /in_progress/.test(p.message ?? '')));
    const gaps = progress.slice(1).map((p, i) => p.t - progress[i]!.t);
    assert.ok(Math.max(...gaps) < 1_000, `largest progress gap ${Math.max(...gaps)} ms (heartbeat 500 ms)`);
  } finally {
    await rig.close();
  }
});

test('jobs: start, poll to completion; after a restart poll_job resumes the stored background response', { timeout: patience(40_000) }, async () => {
  let rig = await startRig({ fake: { faults: [{ route: 'responses.create', fault: { type: 'background', queuedMs: 2_500, inProgressMs: 500 } }] } });
  try {
    const started = await rig.call('start_job', { tool: 'chat_with_o3_pro', args: { instructions: 'slow', session_id: 'job1' } });
    assert.equal(started.isError, undefined, textOf(started));
    const jobId = (started.structuredContent as any).job_id;
    await rig.fake.journal.waitFor((e) => e.route === 'responses.retrieve', patience(5_000));
    // The response id is stored before polling; now the server dies.
    rig = await rig.restart();
    let status = '';
    let result: any;
    const deadline = Date.now() + patience(20_000);
    while (Date.now() < deadline) {
      const p = await rig.call('poll_job', { job_id: jobId });
      status = (p.structuredContent as any).status;
      result = (p.structuredContent as any).result;
      if (status !== 'running') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(status, 'completed');
    assert.ok(result.text.length > 0);
    assert.match(result.notes.join(' '), /recovered after a server restart/);
    assert.equal(rig.fake.journal.entries().filter((e) => e.route === 'responses.create').length, 1, 'not asked twice');
  } finally {
    await rig.close();
  }
});

test('cancel_job cancels the running job and its upstream response', { timeout: patience(30_000) }, async () => {
  const rig = await startRig({ fake: { faults: [{ route: 'responses.create', fault: { type: 'background', queuedMs: 60_000 } }] } });
  try {
    const s = await rig.call('start_job', { tool: 'chat_with_o3_pro', args: JSON.stringify({ instructions: 'x', session_id: 'j2' }) });
    const jobId = (s.structuredContent as any).job_id;
    await rig.fake.journal.waitFor((e) => e.route === 'responses.retrieve', patience(5_000));
    await rig.call('cancel_job', { job_id: jobId });
    await rig.fake.journal.waitFor((e) => e.route === 'responses.cancel', patience(3_000));
    // The job's row turns 'cancelled' once its run has unwound; wait for that (bounded), not a fixed time.
    let status = 'running';
    for (const until = Date.now() + patience(10_000); status === 'running' && Date.now() < until;) {
      status = ((await rig.call('poll_job', { job_id: jobId })).structuredContent as any).status;
      if (status === 'running') await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 'cancelled');
    const bad = await rig.call('start_job', { tool: 'nope', args: {} });
    assert.equal(bad.isError, true);
    assert.match(textOf(bad), /Use one of: chat_with_o3/);
  } finally {
    await rig.close();
  }
});
