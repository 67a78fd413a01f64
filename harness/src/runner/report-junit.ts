import { describe, failures, labelOf } from './console-reporter.ts';
import { formatValue, formatBoundText } from './format.ts';
import { asExpected, notJudged } from './run-scenario.ts';
import type { ScenarioResult } from './run-scenario.ts';

/** JUnit XML: one testcase per scenario run, named by its id, for any CI to show. */

function xml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export function junitXml(results: readonly ScenarioResult[], skipped: ReadonlyArray<{ label: string; why: string }>): string {
  const failed = results.filter((r) => !asExpected(r) && !notJudged(r) && (r.proof || r.verdict === 'fail')).length;
  const errors = results.filter((r) => !asExpected(r) && !notJudged(r) && !r.proof && r.verdict === 'error').length;
  const unjudged = results.filter(notJudged).length;
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const total = results.reduce((t, r) => t + r.durationMs, 0);
  const cases = results.map((r) => {
    const figures = r.measurements.map((m) => `${m.verdict.padEnd(4)} ${m.probe}: ${m.metric} = ${formatValue(m)}${m.bound ? ` (${formatBoundText(m)})` : ''}`).join('\n');
    const body =
      notJudged(r)
        ? `\n      <skipped message="${xml(`not judged (machine too busy): ${r.judging?.busy.join('; ') || 'the reference process was over its limit'}`)}"/>`
        : asExpected(r)
        ? ''
        : r.proof
          ? `\n      <failure message="${xml(`passed against ${r.proof}: the scenario does not catch its defect`)}"/>`
          : r.verdict === 'error'
          ? `\n      <error message="${xml(r.error ?? 'error')}">${xml([r.error, ...failures(r).map(describe)].filter(Boolean).join('\n'))}</error>`
          : `\n      <failure message="${xml(failures(r).map((m) => `${m.probe}: ${m.metric}`).join('; ') || (r.error ?? 'failed'))}">${xml([r.error, ...failures(r).map(describe)].filter(Boolean).join('\n'))}</failure>`;
    return `    <testcase classname="chaos.${xml(r.mode)}" name="${xml(labelOf(r))}" time="${seconds(r.durationMs)}">${body}\n      <system-out>${xml(`${r.title}\n${figures}`)}</system-out>\n    </testcase>`;
  });
  const skippedCases = skipped.map((s) => `    <testcase classname="chaos" name="${xml(s.label)}" time="0">\n      <skipped message="${xml(s.why)}"/>\n    </testcase>`);
  const tests = results.length + skipped.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="chaos" tests="${tests}" failures="${failed}" errors="${errors}" skipped="${skipped.length + unjudged}" time="${seconds(total)}">`,
    `  <testsuite name="second-brain chaos" tests="${tests}" failures="${failed}" errors="${errors}" skipped="${skipped.length + unjudged}" time="${seconds(total)}">`,
    ...cases,
    ...skippedCases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
