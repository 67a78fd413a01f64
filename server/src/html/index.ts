/**
 * The project's HTML pages, as pure functions: the page shell and its styles, SVG
 * charts (bars, spreads of repeated rounds, cost against size), and the trace waterfall.
 * Public entry `@second-brain/server/html`, used by the chaos report and the benchmark
 * report.
 */
export { esc, formatDurationMs, htmlPage, PAGE_CSP, PAGE_CSS } from './page.ts';
export type { PageOptions } from './page.ts';
export { barChart, niceStep } from './bar-chart.ts';
export type { Bar, BarChartOptions } from './bar-chart.ts';
export { spreadChart } from './spread-chart.ts';
export type { SpreadChartOptions, SpreadRow } from './spread-chart.ts';
export { lineChart } from './line-chart.ts';
export type { LineChartOptions, LinePoint, LineSeries } from './line-chart.ts';
export { spanStatus, tracePage } from './trace-page.ts';
export type { SpanStatus, TracePageOptions } from './trace-page.ts';
export { spansFromRequest } from '../telemetry/local-traces.ts';
export type { LocalSpan, LocalSpanEvent, OtlpTraceRequest } from '../telemetry/local-traces.ts';
