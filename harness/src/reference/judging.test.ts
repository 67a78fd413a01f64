import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busyReason, excessOver, judgedAgainstReference, judgedOnOwnTime, machineStallMs, referencePing, verdictOnExcess } from './judging.ts';
import type { ReferenceFigures } from './judging.ts';
import { decideLatency, judgeAttempt } from './latency-test.ts';
import { scenarioVerdict } from '../runner/run-scenario.ts';
import type { ScenarioResult } from '../runner/run-scenario.ts';
import { junitXml } from '../runner/report-junit.ts';
import { exitCodeFor, strictJudgingFromEnv } from '../runner/chaos.ts';
import { verdictText } from '../runner/console-reporter.ts';
import { formatFigure, formatRatio, formatValue } from '../runner/format.ts';
import { judged } from '../probes/measurement.ts';

const ref = (over: Partial<ReferenceFigures> = {}): ReferenceFigures => ({ startMs: 0, endMs: 10_000, pings: 190, pingMaxMs: 4, pingP99Ms: 2, pingP50Ms: 0.6, loopMaxMs: 12, loopP99Ms: 11, ...over });
const LT100 = { op: '<', value: 100 } as const;

test('excess: the server figure minus the reference, never below 0; the absolute figure without a reference', () => {
  assert.equal(excessOver(180, 90), 90);
  assert.equal(excessOver(40, 90), 0);
  assert.equal(excessOver(40, null), 40);
  assert.equal(excessOver(null, 10), null);
  assert.equal(excessOver(Number.POSITIVE_INFINITY, 90), Number.POSITIVE_INFINITY);
  assert.equal(machineStallMs(ref({ pingMaxMs: 30, loopMaxMs: 70 })), 70);
  assert.equal(machineStallMs(null), null);
});

test('busy: the reference over its limit says which figure and by how much', () => {
  assert.equal(busyReason(ref(), 50), null);
  assert.equal(busyReason(ref({ pingMaxMs: 72.44 }), 50), 'reference ping max 72.4 ms > limit 50 ms');
  assert.match(busyReason(ref({ loopMaxMs: 130 }), 50)!, /event-loop stall 130\.0 ms > limit 50 ms/);
  assert.equal(busyReason(ref({ loopMaxMs: 58, loopResolutionMs: 10 }), 50), null, 'an idle loop shows its resolution: 58 ms at 10 ms is a 48 ms stall');
  assert.equal(machineStallMs(ref({ pingMaxMs: 1, loopMaxMs: 12.9, loopResolutionMs: 10 }))!.toFixed(1), '2.9');
});

test('verdicts: pass beyond the noise, fail on a quiet machine, not judged when a busy machine explains the miss', () => {
  assert.equal(verdictOnExcess(60, LT100, null, 5), 'pass');
  assert.equal(verdictOnExcess(60, LT100, 'busy', 90), 'pass', 'a pass is a pass however busy');
  assert.equal(verdictOnExcess(120, LT100, null, 5), 'fail');
  assert.equal(verdictOnExcess(120, LT100, 'busy', 90), 'not-judged', '120 - 90 = 30: noise can explain it');
  assert.equal(verdictOnExcess(350, LT100, 'busy', 90), 'fail', 'a 300 ms block stands out by more than the noise');
  assert.equal(verdictOnExcess(Number.POSITIVE_INFINITY, { op: '<=', value: 50 }, 'busy', 90), 'fail', 'a request that never ended is no noise');
  assert.equal(verdictOnExcess(null, LT100, null), 'fail');
  assert.equal(verdictOnExcess(null, LT100, 'busy'), 'not-judged');
});

test('a probe figure keeps the absolute figures and judges the excess', () => {
  const quiet = judgedAgainstReference('responsive', 'ping max', 130, referencePing({ figures: ref({ pingMaxMs: 45 }), busyLimitMs: 50 }), LT100);
  assert.equal(quiet.value, 85);
  assert.equal(quiet.serverValue, 130);
  assert.equal(quiet.referenceValue, 45);
  assert.equal(quiet.verdict, 'pass');
  assert.equal(formatValue(quiet), '85 ms excess (server 130 ms, reference 45 ms)');
  const busy = judgedAgainstReference('responsive', 'ping max', 260, referencePing({ figures: ref({ pingMaxMs: 110 }), busyLimitMs: 50 }), LT100);
  assert.equal(busy.verdict, 'not-judged');
  assert.match(busy.note!, /not judged \(machine too busy: reference ping max 110\.0 ms > limit 50 ms\)/);
  const none = judgedAgainstReference('responsive', 'ping max', 130, null, LT100);
  assert.equal(none.verdict, 'fail');
  assert.equal(none.value, 130);
});

test('scenario verdict: a failed figure fails, a not-judged one (and no failure) is not judged', () => {
  assert.equal(scenarioVerdict([{ verdict: 'pass' }, { verdict: 'info' }], undefined), 'pass');
  assert.equal(scenarioVerdict([{ verdict: 'not-judged' }, { verdict: 'pass' }], undefined), 'not-judged');
  assert.equal(scenarioVerdict([{ verdict: 'not-judged' }, { verdict: 'fail' }], undefined), 'fail');
  assert.equal(scenarioVerdict([{ verdict: 'not-judged' }], 'a step failed'), 'error');
});

test('unit-test judging: pass on any attempt, fail on a judged miss, skip when too busy every time unless strict', () => {
  const opts = { boundMs: 50, compareWith: 'loop' as const, busyLimitMs: 50 };
  const quietMiss = judgeAttempt(120, ref({ loopMaxMs: 12 }), opts);
  const busyMiss = judgeAttempt(150, ref({ pingMaxMs: 80, loopMaxMs: 95 }), opts);
  const pass = judgeAttempt(30, ref({ loopMaxMs: 12 }), opts);
  assert.equal(quietMiss.excessMs, 108);
  assert.equal(quietMiss.verdict, 'fail');
  assert.equal(busyMiss.verdict, 'not-judged');
  assert.equal(decideLatency('x', [busyMiss, pass], { boundMs: 50 }).verdict, 'pass');
  assert.equal(decideLatency('x', [busyMiss, quietMiss], { boundMs: 50 }).verdict, 'fail');
  const skipped = decideLatency('x', [busyMiss, busyMiss, busyMiss], { boundMs: 50 });
  assert.equal(skipped.verdict, 'not-judged');
  assert.equal(skipped.message, 'not judged: machine too busy (reference ping max 80.0 ms > limit 50 ms, reference event-loop stall 95.0 ms > limit 50 ms)');
  assert.equal(decideLatency('x', [busyMiss], { boundMs: 50, strict: true }).verdict, 'fail');
});

test('KI-21: ratios print enough digits to see the margin, and the comparison uses the unrounded value', () => {
  const r = 185 / 168;
  assert.equal(formatRatio(r, 1.1), '1.101');
  assert.equal(formatRatio(1.10004, 1.1), '1.10004', 'never printed equal to a bound it is not equal to');
  assert.equal(formatRatio(1.1, 1.1), '1.100');
  assert.equal(formatRatio(0.5), '0.500');
  assert.equal(formatFigure(r, 'x', 1.1), '1.101');
  assert.equal(formatFigure(123.456, 'ms'), '123.5');
  const m = judged('calls', 'q: slowest repeat / first', r, 'ratio', { op: '<=', value: 1.1 });
  assert.equal(m.verdict, 'fail', '1.1012 is over 1.1 even though it rounds to 1.10');
  assert.equal(formatValue(m), '1.101×');
});

test('not judged is its own verdict: JUnit skipped with the reason, CI red only when strict', () => {
  const base = { key: 'KI-07-x', id: 'KI-07', name: 'x', title: 't', mode: 'in-process' as const, durationMs: 10, measurements: [], provenAgainst: { toy: 'none' } };
  const unjudged = { ...base, verdict: 'not-judged' as const, judging: { attempts: 3, busy: ['reference ping max 80.0 ms > limit 50 ms'] } } as unknown as ScenarioResult;
  const passed = { ...base, key: 'KI-07-y', verdict: 'pass' as const } as unknown as ScenarioResult;
  const xml = junitXml([unjudged, passed], []);
  assert.match(xml, /<skipped message="not judged \(machine too busy\): reference ping max 80\.0 ms &gt; limit 50 ms"\/>/);
  assert.match(xml, /tests="2" failures="0" errors="0" skipped="1"/);
  assert.equal(exitCodeFor([unjudged, passed], false), 0);
  assert.equal(exitCodeFor([unjudged, passed], true), 1);
  assert.equal(exitCodeFor([{ verdict: 'not-judged', proof: 'defect x' }], false), 0, 'a proof never judged is not counted as missed');
  assert.equal(exitCodeFor([{ verdict: 'pass', proof: 'defect x' }], false), 1, 'a proof that passes missed its defect');
  assert.equal(verdictText(unjudged), 'NOT JUDGED');
  assert.equal(strictJudgingFromEnv({ SB_STRICT_JUDGING: '1' }), true);
  assert.equal(strictJudgingFromEnv({}), false);
  assert.throws(() => strictJudgingFromEnv({ SB_STRICT_JUDGING: 'yes please' }), /SB_STRICT_JUDGING takes 1, true, 0 or false/);
});

test('own-loop judging: a ping the measuring process delayed itself neither excuses its stall nor makes the machine busy', () => {
  // This process's loop was blocked 700 ms: its pings to the reference took as long, the reference's own loop did not stall.
  const selfInflicted = ref({ pingMaxMs: 734, loopMaxMs: 64, loopResolutionMs: 10 });
  const asStall = judgeAttempt(728, selfInflicted, { boundMs: 50, compareWith: 'stall' });
  const asOwnLoop = judgeAttempt(728, selfInflicted, { boundMs: 50, compareWith: 'own-loop' });
  assert.equal(asStall.verdict, 'pass', 'the ping stood in for the machine and excused the stall');
  assert.equal(asOwnLoop.referenceMs, 54);
  assert.equal(asOwnLoop.busy, 'reference event-loop stall 54.0 ms > limit 50 ms');
  assert.equal(asOwnLoop.verdict, 'fail');
  const quiet = judgeAttempt(30, ref({ pingMaxMs: 400, loopMaxMs: 12, loopResolutionMs: 10 }), { boundMs: 50, compareWith: 'own-loop' });
  assert.equal(quiet.busy, null, 'a slow ping alone does not make the machine busy');
  assert.equal(quiet.verdict, 'pass');
});

test('a call duration is judged on the server own time: wall less its event loop run-queue wait', () => {
  const bound = { op: '<=' as const, value: 2_000 };
  const loaded = judgedOnOwnTime('calls', 'q: duration', 2_900, 1_100, bound);
  assert.equal(loaded.verdict, 'pass');
  assert.equal(loaded.value, 1_800);
  assert.equal(loaded.serverValue, 2_900);
  assert.equal(loaded.cpuWaitMs, 1_100);
  assert.match(formatValue(loaded), /1\.8 s less CPU wait \(wall 2\.9 s, waited for a CPU 1\.1 s\)/);
  // A server that blocked (slept) waited for no CPU: the wall time stays its own.
  assert.equal(judgedOnOwnTime('calls', 'q: duration', 2_900, 40, bound).verdict, 'fail');
  // No kernel figure: the wall time, said so.
  const plain = judgedOnOwnTime('calls', 'q: duration', 2_100, undefined, bound);
  assert.equal(plain.verdict, 'fail');
  assert.match(plain.note ?? '', /no run-queue figure/);
  assert.equal(judgedOnOwnTime('calls', 'q: duration', null, 10, bound).verdict, 'fail');
});
