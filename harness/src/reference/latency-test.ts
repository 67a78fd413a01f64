import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { strictJudgingFromEnv } from './settings.ts';
import { MAX_JUDGING_ATTEMPTS, REFERENCE_BUSY_LIMIT_MS } from './defaults.ts';
import { busyReason, excessOver, loopStallMs, machineStallMs, verdictOnExcess } from './judging.ts';
import type { JudgedVerdict, ReferenceFigures } from './judging.ts';
import { ReferenceProcess } from './reference-process.ts';

/**
 * The unit tests' side of judging against the machine: a test that bounds a latency
 * measures it with a reference process running beside it, over the same window, and the
 * catalogue bound holds for the excess over the reference. A bounded number of attempts;
 * then a miss is a failure, and a run where the machine was too busy every time is
 * skipped with the reason (failed when SB_STRICT_JUDGING=1).
 *
 * ```ts
 * const r = await judgeLatency(t, { label: 'gather', boundMs: 50, compareWith: 'loop' }, async () => {
 *   const h = monitorEventLoopDelay({ resolution: 10 }); h.enable();
 *   await work();
 *   h.disable();
 *   return h.max / 1e6;
 * });
 * if (r.verdict !== 'pass') return; // skipped: machine too busy
 * ```
 */

/**
 * What a measurement returns when the machine was too slow for its scenario to happen at
 * all (a throttle window over before the first request went out, a deadline past before
 * the first answer): the attempt is "not judged", like one where the reference was too
 * busy, and the next attempt runs.
 */
export class NotJudged {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

export interface JudgeLatencyOptions {
  label: string;
  /** The catalogue bound, unchanged. */
  boundMs: number;
  /** Default `<`. */
  op?: '<' | '<=';
  /**
   * Which figure of the reference stands for the machine: `loop` when the test measures
   * an event loop's delay (its own, or a child's), `ping` for a round trip, `stall` (the
   * larger of the two) for any other latency. `own-loop` for a latency measured inside
   * this process (an abort, a wait, a call through an in-process fake): the reference's
   * pings are sent and timed on this process's event loop, so a stall here (the defect
   * being looked for) would show up as the reference's ping too and excuse itself; only
   * the reference's own event-loop stall (beyond its resolution) stands for the machine,
   * and only it can make the machine "too busy". Default `stall`.
   */
  compareWith?: 'loop' | 'ping' | 'stall' | 'own-loop';
  /** Default MAX_JUDGING_ATTEMPTS (3). */
  attempts?: number;
  /** Default REFERENCE_BUSY_LIMIT_MS (50 ms). */
  busyLimitMs?: number;
  /** Default SB_STRICT_JUDGING. */
  strict?: boolean;
  /** Resolution of the loop histogram being compared (the reference uses the same). Default 10 ms. */
  loopResolutionMs?: number;
}

export interface LatencyAttempt {
  measuredMs: number;
  referenceMs: number | null;
  excessMs: number | null;
  busy: string | null;
  verdict: JudgedVerdict;
  reference: ReferenceFigures;
}

export interface LatencyJudgement {
  /** `pass`, or `not-judged` (the test was skipped); a failure throws. */
  verdict: 'pass' | 'fail' | 'not-judged';
  attempts: LatencyAttempt[];
  message: string;
}

/** The reference's figure that stands for the machine in a comparison. */
export function referenceFigureFor(ref: ReferenceFigures, compareWith: JudgeLatencyOptions['compareWith']): number | null {
  if (compareWith === 'loop') return ref.loopMaxMs;
  if (compareWith === 'ping') return ref.pingMaxMs;
  if (compareWith === 'own-loop') return loopStallMs(ref);
  return machineStallMs(ref);
}

/** One attempt judged: the measured figure's excess over the reference against the bound. */
export function judgeAttempt(measuredMs: number, ref: ReferenceFigures, options: Pick<JudgeLatencyOptions, 'boundMs' | 'op' | 'compareWith' | 'busyLimitMs'>): LatencyAttempt {
  const referenceMs = referenceFigureFor(ref, options.compareWith);
  const excessMs = excessOver(measuredMs, referenceMs);
  const busy = busyReason(options.compareWith === 'own-loop' ? { ...ref, pingMaxMs: null } : ref, options.busyLimitMs ?? REFERENCE_BUSY_LIMIT_MS);
  const verdict = verdictOnExcess(excessMs, { op: options.op ?? '<', value: options.boundMs }, busy, referenceMs);
  return { measuredMs, referenceMs, excessMs, busy, verdict, reference: ref };
}

/**
 * The outcome of all attempts: any pass passes; otherwise any judged miss fails;
 * otherwise (too busy every time) not judged, which fails only when strict.
 */
export function decideLatency(label: string, attempts: readonly LatencyAttempt[], options: Pick<JudgeLatencyOptions, 'boundMs' | 'op' | 'strict'>): LatencyJudgement {
  const op = options.op ?? '<';
  const fig = (v: number | null) => (v === null || Number.isNaN(v) ? '—' : `${v.toFixed(1)} ms`);
  const each = attempts.map((a, i) => `attempt ${i + 1}: ${fig(a.measuredMs)} − reference ${fig(a.referenceMs)} = excess ${fig(a.excessMs)} (${a.verdict}${a.busy ? `; ${a.busy}` : ''})`).join('; ');
  if (attempts.some((a) => a.verdict === 'pass')) return { verdict: 'pass', attempts: [...attempts], message: `${label}: excess ${op} ${options.boundMs} ms; ${each}` };
  if (attempts.some((a) => a.verdict === 'fail')) return { verdict: 'fail', attempts: [...attempts], message: `${label}: excess over the reference not ${op} ${options.boundMs} ms in any of ${attempts.length} attempt(s); ${each}` };
  const last = attempts.at(-1);
  const why = last?.busy ?? 'no attempt';
  const message = `not judged: machine too busy (${why})`;
  return { verdict: options.strict ? 'fail' : 'not-judged', attempts: [...attempts], message: options.strict ? `${label}: ${message} and strict judging is on; ${each}` : message };
}

/**
 * Measures a latency up to `attempts` times with a reference process beside it and
 * judges its excess over the reference. Throws (an assertion) on a failure; skips the
 * test (`t.skip`) when the machine was too busy every time, unless strict.
 */
export async function judgeLatency(t: TestContext, options: JudgeLatencyOptions, measure: (attempt: number) => Promise<number | NotJudged>): Promise<LatencyJudgement> {
  const attempts: LatencyAttempt[] = [];
  const max = Math.max(1, options.attempts ?? MAX_JUDGING_ATTEMPTS);
  const strict = options.strict ?? strictJudgingFromEnv();
  const ref = await ReferenceProcess.start(options.loopResolutionMs ? { loopResolutionMs: options.loopResolutionMs } : {});
  try {
    for (let i = 1; i <= max; i++) {
      const window = await ref.openWindow();
      const measured = await measure(i);
      const figures = await ref.closeWindow(window);
      if (measured instanceof NotJudged) {
        attempts.push({ measuredMs: Number.NaN, referenceMs: null, excessMs: null, busy: measured.reason, verdict: 'not-judged', reference: figures });
        t.diagnostic(`${options.label} attempt ${i}: not judged (${measured.reason})`);
        continue;
      }
      const a = judgeAttempt(measured, figures, options);
      attempts.push(a);
      t.diagnostic(`${options.label} attempt ${i}: ${measured.toFixed(1)} ms; reference ping max ${figures.pingMaxMs?.toFixed(1) ?? '—'} ms, event-loop max ${figures.loopMaxMs?.toFixed(1) ?? '—'} ms; excess ${a.excessMs?.toFixed(1) ?? '—'} ms → ${a.verdict}${a.busy ? ` (${a.busy})` : ''}`);
      if (a.verdict === 'pass') break;
    }
  } finally {
    await ref.close();
  }
  const judgement = decideLatency(options.label, attempts, { boundMs: options.boundMs, ...(options.op ? { op: options.op } : {}), strict });
  if (judgement.verdict === 'fail') assert.fail(judgement.message);
  if (judgement.verdict === 'not-judged') t.skip(judgement.message);
  return judgement;
}
