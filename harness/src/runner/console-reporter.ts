import type { Measurement } from '../probes/index.ts';
import { formatBoundText, formatMs, formatValue } from './format.ts';
import { asExpected, notJudged } from './run-scenario.ts';
import type { ScenarioResult } from './run-scenario.ts';

/**
 * Console output of a chaos run: one line as each scenario starts and ends, the failed
 * checks under a failing one, and a summary table at the end.
 */

export interface ConsoleOptions {
  write: (text: string) => void;
  color: boolean;
}

const COLORS = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;

export class ConsoleReporter {
  readonly #o: ConsoleOptions;
  constructor(options: ConsoleOptions) {
    this.#o = options;
  }

  #c(color: keyof typeof COLORS, text: string): string {
    return this.#o.color ? `\u001b[${COLORS[color]}m${text}\u001b[0m` : text;
  }

  started(label: string, index: number, total: number): void {
    this.#o.write(`${this.#c('dim', `[${index}/${total}]`)} ${label} …\n`);
  }

  skipped(label: string, why: string): void {
    this.#o.write(`  ${this.#c('yellow', '○ skip')} ${label}: ${why}\n`);
  }

  /** The machine was too busy to judge the run: it is repeated (`attempt` of `attempts`). */
  busy(result: ScenarioResult, attempt: number, attempts: number): void {
    const m = result.measurements.find((x) => x.verdict === 'not-judged');
    this.#o.write(`  ${this.#c('yellow', '○ not judged')} ${labelOf(result)}: machine too busy (${m ? describe(m) : 'reference over its limit'}); running it again (${attempt}/${attempts})\n`);
  }

  finished(result: ScenarioResult): void {
    const mark = notJudged(result)
      ? this.#c('yellow', '○ not judged (machine too busy)')
      : result.proof
      ? asExpected(result)
        ? this.#c('green', '✔ caught')
        : this.#c('red', '✘ not caught')
      : result.verdict === 'pass'
        ? this.#c('green', '✔ pass')
        : this.#c('red', result.verdict === 'error' ? '✘ error' : '✘ fail');
    const ping = result.measurements.find((m) => m.probe === 'responsive' && m.metric === 'ping max');
    this.#o.write(`  ${mark} ${labelOf(result)} in ${formatMs(result.durationMs)}${ping ? `, ping max ${formatValue(ping)}` : ''}\n`);
    if (result.error) this.#o.write(`      ${this.#c('red', result.error)}\n`);
    if (notJudged(result)) for (const m of result.measurements.filter((x) => x.verdict === 'not-judged').slice(0, 4)) this.#o.write(`      ${this.#c('yellow', '○')} ${describe(m)}\n`);
    for (const m of failures(result).slice(0, 8)) this.#o.write(`      ${this.#c('red', '✘')} ${describe(m)}\n`);
    const more = failures(result).length - 8;
    if (more > 0) this.#o.write(`      … and ${more} more (see the report)\n`);
  }

  summary(results: readonly ScenarioResult[], skipped: readonly string[], totalMs: number, reportDir: string, strict = false): void {
    const rows = results.map((r) => {
      const ping = r.measurements.find((m) => m.probe === 'responsive' && m.metric === 'ping max');
      const cancel = r.measurements.filter((m) => m.probe === 'cancellation' && m.metric.endsWith('cancel → upstream aborted') && m.value !== null);
      const worstCancel = cancel.length ? Math.max(...cancel.map((m) => m.value!)) : null;
      return [labelOf(r), verdictText(r), formatMs(r.durationMs), ping ? formatValue(ping) : '—', worstCancel === null ? '—' : formatMs(worstCancel), String(failures(r).length)];
    });
    const header = ['Scenario', 'Verdict', 'Time', 'Ping max', 'Cancel', 'Failed checks'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
    this.#o.write(`\n${this.#c('bold', line(header))}\n${widths.map((w) => '─'.repeat(w)).join('  ')}\n`);
    for (const row of rows) {
      const text = line(row);
      this.#o.write(`${row[1] === 'PASS' || row[1] === 'CAUGHT' ? text : this.#c('red', text)}\n`);
    }
    const passed = results.filter(asExpected).length;
    const unjudged = results.filter(notJudged).length;
    const failed = results.length - passed - unjudged;
    const unjudgedText = unjudged ? `, ${unjudged} not judged (machine too busy${strict ? '; strict judging: counted as failed' : ''})` : '';
    this.#o.write(`\n${passed} passed, ${failed} failed${unjudgedText}${skipped.length ? `, ${skipped.length} skipped` : ''} in ${formatMs(totalMs)}. Reports: ${reportDir}\n`);
  }
}

export function labelOf(r: Pick<ScenarioResult, 'key' | 'mode'> & { proof?: string }): string {
  return `${r.key} [${r.mode}]${r.proof ? ` against ${r.proof}` : ''}`;
}

/** PASS / FAIL / ERROR, or for a run against a known defect CAUGHT / MISSED; NOT JUDGED when the machine was too busy. */
export function verdictText(r: Pick<ScenarioResult, 'verdict' | 'proof'>): string {
  if (notJudged(r)) return 'NOT JUDGED';
  if (r.proof) return asExpected(r) ? 'CAUGHT' : 'MISSED';
  return r.verdict.toUpperCase();
}

export function failures(r: ScenarioResult): Measurement[] {
  return r.measurements.filter((m) => m.verdict === 'fail');
}

export function describe(m: Measurement): string {
  return `${m.probe}: ${m.metric} = ${formatValue(m)} (bound ${formatBoundText(m)})${m.note ? ` — ${m.note}` : ''}`;
}
