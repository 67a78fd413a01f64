/**
 * Figures measured inside `run` steps, judged against the catalogue's bounds. Each one is
 * written to the run's timeline as a mark (so the report shows the figure next to its
 * bound); `settle()` then fails the step with every figure that missed its bound at once.
 */
import type { StepContext } from '../../harness/src/runner/step-context.ts';
import { formatFigure } from '../../harness/src/runner/format.ts';
import { judgedOnOwnTime, verdictOnExcess } from '../../harness/src/reference/judging.ts';
import type { CallRecord } from '../../harness/src/driver/types.ts';

type Op = '<' | '<=' | '>' | '>=' | '==';

const passes = (value: number, op: Op, bound: number): boolean =>
  op === '<' ? value < bound : op === '<=' ? value <= bound : op === '>' ? value > bound : op === '>=' ? value >= bound : value === bound;

export class Figures {
  readonly #ctx: StepContext;
  readonly #failures: string[] = [];

  constructor(ctx: StepContext) {
    this.#ctx = ctx;
  }

  /** Records `value` against `op bound`; a miss is kept for `settle()`. */
  judge(name: string, value: number | null, unit: string, op: Op, bound: number, note = ''): boolean {
    const ok = value !== null && Number.isFinite(value) && passes(value, op, bound);
    // The comparison above uses the unrounded value; the text shows enough digits to see the margin.
    const text = `${ok ? 'pass' : 'FAIL'} ${name}: ${value === null ? 'not measured' : `${formatFigure(value, unit, bound)} ${unit}`} (bound ${op} ${unit === 'x' ? bound.toFixed(2) : bound} ${unit})${note ? ` — ${note}` : ''}`;
    this.#ctx.driver.mark(text, 'note');
    if (!ok) this.#failures.push(text);
    return ok;
  }

  /**
   * Records a latency held to the catalogue bound on its excess over the reference
   * process's worst ping round trip since `sinceMs` (the machine's stall in the same
   * window). A miss while the reference was over its busy limit, that the noise can
   * explain, is marked "not judged" and does not fail the step.
   */
  judgeLatency(name: string, valueMs: number | null, op: '<' | '<=', bound: number, sinceMs: number, note = ''): boolean {
    const ref = this.#ctx.reference;
    const rtts = ref ? ref.pings.samples.filter((p) => p.atMs >= sinceMs).map((p) => p.rttMs) : [];
    const refMax = rtts.length ? Math.max(...rtts) : null;
    if (!ref || refMax === null || valueMs === null) return this.judge(name, valueMs, 'ms', op, bound, [note, 'no reference figure: judged on the absolute figure'].filter(Boolean).join('; '));
    const excess = Math.max(0, valueMs - refMax);
    const busy = refMax > this.#ctx.busyLimitMs ? `reference ping max ${refMax.toFixed(1)} ms > limit ${this.#ctx.busyLimitMs} ms` : null;
    const verdict = verdictOnExcess(excess, { op, value: bound }, busy, refMax);
    const detail = `server ${valueMs.toFixed(1)} ms − reference ${refMax.toFixed(1)} ms${busy && verdict === 'not-judged' ? `; not judged (machine too busy: ${busy})` : ''}${note ? `; ${note}` : ''}`;
    if (verdict === 'not-judged') {
      this.#ctx.driver.mark(`not judged ${name} excess: ${formatFigure(excess, 'ms')} ms (bound ${op} ${bound} ms) — ${detail}`, 'note');
      return true;
    }
    return this.judge(`${name} excess`, excess, 'ms', op, bound, detail);
  }

  /**
   * Records how long a call took, held to the bound on the server's own time: wall time
   * less what the server's event loop waited for a CPU meanwhile (the machine's share,
   * `judgedOnOwnTime`). `ok` false (the call did not succeed) records it as not measured.
   */
  judgeCall(name: string, call: CallRecord, op: '<' | '<=', bound: number, ok = true, note = ''): boolean {
    const wall = ok && call.endMs !== null ? call.endMs - call.startMs : null;
    const m = judgedOnOwnTime('figures', name, wall, call.serverCpuWaitMs, { op, value: bound });
    return this.judge(name, m.value, 'ms', op, bound, [note, m.note].filter(Boolean).join('; '));
  }

  /** Records a figure with no bound. */
  info(name: string, value: number | string | null, unit = ''): void {
    this.#ctx.driver.mark(`info ${name}: ${typeof value === 'number' ? round(value) : value ?? 'not measured'} ${unit}`.trim(), 'note');
  }

  /** Throws (failing the step and the run) when any figure missed its bound. */
  settle(): void {
    if (this.#failures.length) throw new Error(this.#failures.join('; '));
  }
}

/** One decimal, or two for small figures (ratios). */
export function round(n: number): number {
  return Math.abs(n) < 10 ? Math.round(n * 100) / 100 : Math.round(n * 10) / 10;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Wall time of the calls whose id is `id` or `id#n`, in ms (ended calls only). */
export function durationsOf(ctx: StepContext, id: string): number[] {
  return ctx.driver.calls
    .filter((c) => (c.id === id || c.id.startsWith(`${id}#`)) && c.endMs !== null)
    .map((c) => c.endMs! - c.startMs);
}

/** The `dropped` block of the latest `server_diagnostics` snapshot. */
export function droppedOf(data: Record<string, unknown> | null): { logs: number; spans: number } | null {
  const d = data?.dropped as { logs?: unknown; spans?: unknown } | undefined;
  if (!d || typeof d.logs !== 'number' || typeof d.spans !== 'number') return null;
  return { logs: d.logs, spans: d.spans };
}
