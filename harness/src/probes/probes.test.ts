import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MirroredEntry } from '../driver/fake-link.ts';
import type { CallRecord } from '../driver/types.ts';
import { boundedProbe, callsProbe, cancellationProbe, dataProbe, isClearError, leaksProbe, percentile, recoveryProbe, responsivenessProbe, secretsProbe } from './index.ts';
import type { Evidence, Measurement } from './index.ts';

/** Pure probe logic on hand-made evidence: each case is one a broken server produces. */

const T0 = 1_750_000_000_000;

function evidence(over: Partial<Evidence> = {}): Evidence {
  return {
    startMs: T0,
    endMs: T0 + 10_000,
    calls: [],
    pings: [],
    marks: [],
    journal: [],
    diagnostics: [],
    processSamples: [],
    crashes: [],
    throttleWindows: [],
    stateBefore: null,
    stateAfter: null,
    stderr: '',
    stdout: '',
    telemetry: [],
    sessionsAtEnd: null,
    checksStartMs: T0 + 9_000,
    ...over,
  };
}

function call(over: Partial<CallRecord>): CallRecord {
  return { id: 'c', tool: 'chat_with_gpt41', args: { session_id: 's' }, generation: 0, startMs: T0 + 1_000, endMs: T0 + 1_500, outcome: 'success', text: 'ok', progress: [], deadlineMs: 60_000, ...over };
}

function entry(over: Partial<MirroredEntry>): MirroredEntry {
  // Only the fields the probes read; the journal may grow more.
  return {
    id: 1, route: 'chat.xai', provider: 'xai', method: 'POST', path: '/chat/completions', routeCall: 1,
    startMs: 0, startWallMs: T0 + 1_010, respondedMs: null, endMs: null, endWallMs: null, status: null,
    aborted: false, abortedAtMs: null, abortedAtWallMs: null, keyLast4: 'abcd', call: null, faults: [], fakeGeneration: 0,
    ...over,
  } as MirroredEntry;
}

const get = (ms: Measurement[], metric: RegExp) => {
  const m = ms.find((x) => metric.test(x.metric));
  assert.ok(m, `no figure ${metric}`);
  return m;
};

test('percentile by nearest rank', () => {
  assert.equal(percentile([], 99), null);
  assert.equal(percentile([5], 99), 5);
  assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99), 99);
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
});

test('responsiveness fails on one long ping and honours a changed bound', () => {
  const pings = [3, 4, 320, 5].map((rtt, i) => ({ atMs: T0 + i * 50, rttMs: rtt, failed: false }));
  assert.equal(get(responsivenessProbe(evidence({ pings })), /^ping max$/).verdict, 'fail');
  assert.equal(get(responsivenessProbe(evidence({ pings }), { maxPingMs: 400, reason: 'measured' }), /^ping max$/).verdict, 'pass');
  assert.equal(get(responsivenessProbe(evidence({ pings: pings.filter((p) => p.rttMs < 100) })), /^ping max$/).verdict, 'pass');
  // No samples at all is a failure, not a pass.
  assert.equal(get(responsivenessProbe(evidence()), /^ping samples$/).verdict, 'fail');
});

test('responsiveness judges the round trip itself, and reports what the server waited for a CPU beside it', () => {
  const ping = (rttMs: number, cpuWaitMs?: number) => ({ atMs: T0, rttMs, failed: false, ...(cpuWaitMs !== undefined ? { cpuWaitMs } : {}) });
  // 150 ms round trip, 80 ms of it the server's loop waiting for a CPU: a loop spinning for
  // a fixed wall time waits the same way, so the round trip is what is judged.
  const ms = responsivenessProbe(evidence({ pings: [ping(20, 1), ping(150, 80)] }));
  assert.equal(get(ms, /^ping max$/).verdict, 'fail');
  assert.equal(get(ms, /^ping max$/).value, 150);
  const own = get(ms, /^ping max less the server’s CPU wait$/);
  assert.equal(own.value, 70);
  assert.match(own.note ?? '', /\(150 ms\) waited 80 ms/);
  assert.equal(own.verdict, 'info');
  assert.equal(get(responsivenessProbe(evidence({ pings: [ping(150)] })), /^ping max less/).value, null, 'no kernel figure, no own share');
});

test('cancellation: measures cancel → abort, and catches an upstream request left running or started after', () => {
  const cancelled = call({ outcome: 'cancelled', cancel: { atMs: T0 + 1_100, trigger: 't' }, endMs: T0 + 1_100 });
  const aborted = entry({ aborted: true, abortedAtWallMs: T0 + 1_112, endWallMs: T0 + 1_112 });
  const ok = cancellationProbe(evidence({ calls: [cancelled], journal: [aborted] }));
  assert.equal(get(ok, /upstream aborted/).value, 12);
  assert.equal(get(ok, /upstream aborted/).verdict, 'pass');

  const leftRunning = cancellationProbe(evidence({ calls: [cancelled], journal: [entry({})] }));
  assert.equal(get(leftRunning, /upstream aborted/).verdict, 'fail');
  assert.equal(get(leftRunning, /upstream aborted/).value, Number.POSITIVE_INFINITY);

  const slow = cancellationProbe(evidence({ calls: [cancelled], journal: [entry({ aborted: true, abortedAtWallMs: T0 + 1_300, endWallMs: T0 + 1_300 })] }));
  assert.equal(get(slow, /upstream aborted/).verdict, 'fail');

  const retried = cancellationProbe(evidence({ calls: [cancelled], journal: [aborted, entry({ id: 2, startWallMs: T0 + 1_200, route: 'chat.xai' }), entry({ id: 3, startWallMs: T0 + 1_150, route: 'responses.cancel' })] }));
  assert.equal(get(retried, /started after cancel/).value, 1, 'a cleanup call does not count; a new chat request does');

  const none = cancellationProbe(evidence({ calls: [cancelled], journal: [] }));
  assert.equal(get(none, /open at cancel/).verdict, 'fail', 'a cancel that found no upstream request proves nothing');
});

test('recovery: first success after the window, requests in it, and the error of a call that gave up inside it', () => {
  const window = { startMs: T0 + 1_000, endMs: T0 + 4_000, mode: 'reject' };
  const journal = [
    entry({ id: 1, route: 'responses.create', startWallMs: T0 + 1_100, status: 429 }),
    entry({ id: 2, route: 'responses.create', startWallMs: T0 + 2_100, status: 429 }),
    entry({ id: 3, route: 'responses.create', startWallMs: T0 + 4_300, startMs: 0, respondedMs: 50, status: 200 }),
  ];
  const gaveUp = call({ id: 'late', outcome: 'error', endMs: T0 + 3_000, text: 'Failed to ask o3: throttled by openai until about 12:00:04 (retry in 1 s).' });
  const vague = call({ id: 'vague', outcome: 'error', endMs: T0 + 3_100, text: 'Error' });
  const ms = recoveryProbe(evidence({ throttleWindows: [window], journal, calls: [gaveUp, vague] }), { maxRecoveryMs: 500, maxRequestsInWindow: 5 });
  assert.equal(get(ms, /first success/).value, 350);
  assert.equal(get(ms, /first success/).verdict, 'pass');
  assert.equal(get(ms, /requests sent during window/).value, 2);
  assert.equal(get(ms, /unclear errors/).value, 1);
  assert.equal(get(ms, /unclear errors/).verdict, 'fail');
  assert.equal(get(recoveryProbe(evidence({ throttleWindows: [window], journal }), { maxRequestsInWindow: 1 }), /requests sent during window/).verdict, 'fail');
});

test('leaks: in-flight operations left, descriptors gained', () => {
  const diagnostics = [{ atMs: T0, label: 'end', data: { inflight: [{ tool: 'server_diagnostics', phase: 'validate', age_ms: 0 }, { tool: 'chat_with_grok4', phase: 'provider', age_ms: 31_000 }] } }];
  const samples = [
    { atMs: T0, generation: 0, pid: 1, openFds: 30, rssBytes: 100, label: 'baseline' },
    { atMs: T0 + 1, generation: 0, pid: 1, openFds: 90, rssBytes: 200, label: 'end' },
  ];
  const ms = leaksProbe(evidence({ diagnostics, processSamples: samples }));
  assert.equal(get(ms, /in-flight/).value, 1, 'the diagnostics call itself is not a leak');
  assert.equal(get(ms, /in-flight/).verdict, 'fail');
  assert.equal(get(ms, /descriptors gained/).value, 60);
  assert.equal(get(ms, /descriptors gained/).verdict, 'fail');
});

test('data: a deleted foreign store, a follow-up without the previous id, a lost session', () => {
  const store = (id: string, owner?: string) => ({ id, name: '', metadata: owner ? { owner } : null, status: 'completed', file_counts: { in_progress: 0, completed: 0, failed: 0, cancelled: 0, total: 0 }, last_active_at: 0, expires_at: null });
  const before = { responses: [], files: [], vectorStores: [store('vs_mine', 'second-brain'), store('vs_theirs', 'someone-else')], fileBatches: [] };
  const after = { ...before, vectorStores: [store('vs_mine', 'second-brain')] };
  const calls = [call({ id: 'a', args: { session_id: 's1' } }), call({ id: 'b', args: { session_id: 's1' }, startMs: T0 + 2_000 })];
  const journal = [entry({ route: 'responses.create', status: 200 }), entry({ id: 2, route: 'responses.create', status: 200 })];
  const ms = dataProbe(evidence({ stateBefore: before, stateAfter: after, calls, journal, sessionsAtEnd: [] }), { sessionContinuity: true });
  assert.equal(get(ms, /foreign stores deleted/).value, 1);
  assert.equal(get(ms, /foreign stores deleted/).verdict, 'fail');
  assert.equal(get(ms, /previous response id/).verdict, 'fail');
  assert.equal(get(ms, /sessions missing/).value, 1);
});

test('secrets: a key anywhere the server writes is caught', () => {
  const key = 'sk-chaos-abc-SENTINEL';
  const ms = secretsProbe(evidence({ stderr: `{"msg":"auth header Bearer ${key}"}`, telemetry: ['{}'] }), [key]);
  assert.equal(get(ms, /in stderr/).value, 1);
  assert.equal(get(ms, /in stderr/).verdict, 'fail');
  assert.equal(get(ms, /in telemetry/).verdict, 'pass');
});

test('bounded: a call past its deadline, one that never ended, and an error that says nothing', () => {
  assert.equal(isClearError('Failed to ask grok-4: the call deadline passed. Try a smaller context.'), true);
  assert.equal(isClearError('Error: undefined'), false);
  const calls = [
    call({ id: 'late', endMs: T0 + 9_000, deadlineMs: 2_000 }),
    call({ id: 'hung', endMs: null, outcome: 'pending' }),
    call({ id: 'vague', outcome: 'error', text: 'Something happened' }),
  ];
  const ms = boundedProbe(evidence({ calls }));
  assert.equal(get(ms, /past their deadline/).value, 1);
  assert.equal(get(ms, /never ended/).value, 1);
  assert.equal(get(ms, /unclear errors/).value, 1);
});

test('calls: expected outcome, text, repeat ratio and progress gaps', () => {
  const first = call({ id: 'q#1', startMs: T0, endMs: T0 + 1_000 });
  const second = call({ id: 'q#2', startMs: T0 + 2_000, endMs: T0 + 4_000, progress: [{ atMs: T0 + 2_100, progress: 1 }] });
  const ms = callsProbe(evidence({ calls: [first, second] }), [{ call: 'q', outcome: 'success', maxRatioToFirst: 1.5, maxProgressGapMs: 1_500 }]);
  assert.equal(get(ms, /slowest repeat/).value, 2);
  assert.equal(get(ms, /slowest repeat/).verdict, 'fail');
  assert.equal(ms.filter((m) => /longest progress gap/.test(m.metric) && m.verdict === 'fail').length, 1, 'q#2 went 1.9 s without progress');
  assert.equal(get(callsProbe(evidence({ calls: [] }), [{ call: 'missing' }]), /calls made/).verdict, 'fail');
});
