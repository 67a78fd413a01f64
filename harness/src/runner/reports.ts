import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spansFromRequest, tracePage } from '@second-brain/server/html';
import { labelOf } from './console-reporter.ts';
import { htmlReport, reportAnchor } from './report-html.ts';
import { junitXml } from './report-junit.ts';
import { asExpected, notJudged } from './run-scenario.ts';
import type { ScenarioResult } from './run-scenario.ts';

/**
 * Writes `junit.xml`, `report.json`, `index.html`, and per scenario run
 * `traces/<key>[.<mode>].json` (OTLP JSON, loadable by any OTLP-aware viewer) and
 * `traces/<key>[.<mode>].html` (its waterfall page, linked from `index.html`) under the
 * report directory.
 */

export interface ReportMeta {
  command: string;
  generatedAt: string;
  totalMs: number;
  options: Record<string, unknown>;
}

export function traceFileName(r: Pick<ScenarioResult, 'key' | 'mode' | 'proof'>, repeat = 0): string {
  return `${r.key}${r.mode === 'in-process' ? '' : `.${r.mode}`}${r.proof ? '.proof' : ''}${repeat ? `.${repeat + 1}` : ''}.json`;
}

export async function writeReports(dir: string, results: readonly ScenarioResult[], skipped: ReadonlyArray<{ label: string; why: string }>, meta: ReportMeta): Promise<string[]> {
  await mkdir(join(dir, 'traces'), { recursive: true });
  const seen = new Map<string, number>();
  const traceFiles = results.map((r) => {
    const base = labelOf(r);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return join('traces', traceFileName(r, n));
  });
  const tracePages = traceFiles.map((f) => f.replace(/\.json$/, '.html'));
  const anchors = results.map(reportAnchor);
  await Promise.all(results.flatMap((r, i) => [
    writeFile(join(dir, traceFiles[i]!), JSON.stringify(r.trace)),
    writeFile(join(dir, tracePages[i]!), tracePage(spansFromRequest(r.trace), {
      title: `Trace of ${labelOf(r)}`,
      subtitle: `${r.title} · ${r.telemetryNote}`,
      back: { href: `../index.html#${anchors[i]!}`, label: 'chaos report' },
    })),
  ]));
  const json = {
    generatedAt: meta.generatedAt,
    command: meta.command,
    options: meta.options,
    totalMs: meta.totalMs,
    summary: {
      runs: results.length,
      passed: results.filter(asExpected).length,
      failed: results.filter((r) => !asExpected(r) && !notJudged(r) && (r.proof !== undefined || r.verdict === 'fail')).length,
      errors: results.filter((r) => !asExpected(r) && !notJudged(r) && r.proof === undefined && r.verdict === 'error').length,
      notJudged: results.filter(notJudged).length,
      skipped: skipped.length,
    },
    skipped,
    scenarios: results.map((r, i) => {
      const { trace: _trace, spans: _spans, ...rest } = r;
      return { ...rest, traceFile: traceFiles[i], tracePage: tracePages[i] };
    }),
  };
  const files = [join(dir, 'junit.xml'), join(dir, 'report.json'), join(dir, 'index.html')];
  await writeFile(files[0]!, junitXml(results, skipped));
  await writeFile(files[1]!, JSON.stringify(json, null, 1));
  await writeFile(files[2]!, htmlReport({ results, skipped, generatedAt: meta.generatedAt, totalMs: meta.totalMs, command: meta.command, tracePages }));
  return files;
}
