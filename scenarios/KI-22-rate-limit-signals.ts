import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineScenario } from '../harness/src/runner/scenario.ts';
import type { StepContext } from '../harness/src/runner/step-context.ts';
import type { MirroredEntry } from '../harness/src/driver/fake-link.ts';
import { nowMs } from '../harness/src/driver/clock.ts';
import { UPLOAD_PER_FILE_ENV } from './KI-01-support/upload-per-file.ts';

/**
 * KI-22: rate-limit signals were ignored. The seed's to-do list: upload-speed monitoring,
 * backoff for failed batches, reading the rate-limit headers, batch sizes that adapt.
 *
 * Inject: one overflow query of ~270 files (uploads take 60 ms each) while the account's
 * limit changes under it, with `x-ratelimit-remaining-requests` on every answer:
 * - A: no effective limit (1000 requests/s) for the first 50 uploads;
 * - B: the limit drops to 40 requests/s (burst 5, emptied at the switch) for 2 s: 429s with retry-after, and
 *   the remaining-requests header counting down to 0;
 * - C: the limit is lifted again for 0.6 s;
 * - D: uploads turn 6.5× slower (a degraded account, 390 ms each) for 0.8 s;
 * - E: healthy until the end.
 *
 * Expect:
 * - upload concurrency adapts: it shrinks on 429s (B) and on rising latency (D), and
 *   grows back when healthy (C, E); never above its maximum of 16;
 * - throughput in B reaches at least 80 % of the 40 requests/s the fake allows (or of the
 *   rate phase A reached with no limit, when the machine held it below 40/s);
 * - the rate-limit headroom shows in server_diagnostics (it counts down in B) and in the
 *   `second_brain.ratelimit.headroom` metric (exported to local files every 250 ms here).
 *
 * The level is judged by the server's own count of level changes by reason
 * (`server_diagnostics` `vector_stores.uploadConcurrencyChanges`) between the phase marks,
 * not by comparing two snapshots of the level: under 429s the level halves and then regrows
 * between bursts, so a snapshot at the end of B can equal one at the end of A although it
 * shrank in between (seen once on a busy machine: "4 → 4" with the loop-lag rule holding A
 * at its start level).
 *
 * Proven against `upload-concurrency-fixed`: the level stays at 4 through every phase and
 * never changes (check step: "concurrency did not shrink under 429s: 0 decreases for a 429
 * in B").
 */

const LIMITED_RPS = 40;
const O3_DEADLINE_S = 20;

type ChangeCounts = { increase: number; rate_limited: number; latency: number; loop_lag: number };
type HoldCounts = { loop_lag: number; headroom: number };
/** `at` is on the harness clock (nowMs), the one the journal's wall times use. */
interface PhaseMark { name: string; at: number; level?: number; headroom?: number | null; changes?: ChangeCounts; held?: HoldCounts }
/** Filled by this run's steps; the module is shared by every run of the scenario, so the first step empties it. */
const phases: PhaseMark[] = [];

async function mark(ctx: StepContext, name: string): Promise<void> {
  const d = await ctx.driver.snapshotDiagnostics(`phase ${name}`);
  const vs = (d?.vector_stores ?? {}) as { uploadConcurrency?: number; headroom?: number | null; uploadConcurrencyChanges?: ChangeCounts; uploadGrowthHeld?: HoldCounts };
  phases.push({
    name, at: nowMs(), level: vs.uploadConcurrency, headroom: vs.headroom ?? null,
    ...(vs.uploadConcurrencyChanges ? { changes: vs.uploadConcurrencyChanges } : {}), ...(vs.uploadGrowthHeld ? { held: vs.uploadGrowthHeld } : {}),
  });
}

/** Level changes for `reason` between two marks. */
function changed(from: PhaseMark, to: PhaseMark, reason: keyof ChangeCounts): number {
  return (to.changes?.[reason] ?? 0) - (from.changes?.[reason] ?? 0);
}

/** Healthy uploads whose growth the server's own loop lag withheld between two marks. */
function heldForLag(from: PhaseMark, to: PhaseMark): number {
  return (to.held?.loop_lag ?? 0) - (from.held?.loop_lag ?? 0);
}

/** Most uploads open at once among those that started in [from, to). */
function maxOpen(uploads: MirroredEntry[], from: number, to: number): number {
  const events: Array<[number, number]> = [];
  for (const e of uploads) {
    const end = e.endWallMs ?? Number.POSITIVE_INFINITY;
    if (end < from || e.startWallMs >= to) continue;
    events.push([Math.max(e.startWallMs, from), 1], [Math.min(end, to), -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of events) { open += d; max = Math.max(max, open); }
  return max;
}

/** Every value of a gauge in the server's local metrics files. */
async function gaugeValues(dir: string, name: string): Promise<number[]> {
  let files: string[] = [];
  try { files = (await readdir(dir)).filter((f) => f.startsWith('metrics')); } catch { return []; }
  const out: number[] = [];
  for (const f of files) {
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) {
      if (!line.includes(name)) continue;
      const json = JSON.parse(line) as { resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: Array<{ name: string; gauge?: { dataPoints?: Array<{ asInt?: string | number; asDouble?: number }> } }> }> }> };
      for (const rm of json.resourceMetrics ?? []) for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) {
        if (m.name !== name) continue;
        for (const p of m.gauge?.dataPoints ?? []) out.push(Number(p.asInt ?? p.asDouble));
      }
    }
  }
  return out;
}

export default defineScenario({
  id: 'KI-22',
  name: 'rate-limit-signals',
  title: 'Upload concurrency follows 429s, latency and the remaining-requests headers',
  modes: ['in-process', 'loopback'],
  timeoutMs: 40_000,
  server: {
    models: { o3: { context_window: 20_000, timeout_s: O3_DEADLINE_S } },
    env: { SECOND_BRAIN_MEMORY: 'false', OTEL_METRICS_EXPORTER: 'file', OTEL_METRIC_EXPORT_INTERVAL: '250', ...UPLOAD_PER_FILE_ENV },
  },
  tree: { files: 300, sizeBytes: 1_024 },
  fake: { account: { uploadLatencyMs: 60 } },
  steps: [
    { do: 'run', label: 'a fresh record of phases', run: async () => { phases.length = 0; } },
    {
      do: 'call', id: 'upload', tool: 'chat_with_o3', background: true, timeoutMs: (O3_DEADLINE_S + 2) * 1_000,
      args: { instructions: 'Where is the retry budget enforced?', context: ['$PROJECT'], session_id: 'ki22', disable_memory_search: true },
      expect: { outcome: 'success' },
    },
    { do: 'wait-for', when: { route: 'files.create', nth: 50 }, timeoutMs: 10_000 },
    { do: 'run', label: 'end of phase A (healthy)', run: (ctx) => mark(ctx, 'A') },
    // Emptied at once, so the limit bites even when a busy machine keeps the server's own
    // pace under 40 uploads/s (seen: 0 × 429 with the level held at 4 by the loop-lag rule).
    { do: 'account', limits: { requestsPerSecond: LIMITED_RPS, burst: 5 }, drain: true },
    { do: 'wait', ms: 2_000 },
    { do: 'run', label: 'end of phase B (40 requests/s)', run: (ctx) => mark(ctx, 'B') },
    { do: 'account', limits: { requestsPerSecond: 1_000, burst: 10_000 } },
    { do: 'wait', ms: 600 },
    { do: 'run', label: 'end of phase C (healthy again)', run: (ctx) => mark(ctx, 'C') },
    { do: 'account', throttle: { durationMs: 800, mode: 'degrade', multiplier: 6.5 } },
    { do: 'wait', ms: 800 },
    { do: 'run', label: 'end of phase D (uploads 6.5× slower)', run: (ctx) => mark(ctx, 'D') },
    { do: 'await', call: 'upload', timeoutMs: 20_000 },
    { do: 'wait', ms: 400 },
    { do: 'run', label: 'end of phase E (healthy)', run: (ctx) => mark(ctx, 'E') },
    {
      do: 'run',
      label: 'concurrency shrank and grew back; throughput ≥ 80 % of the allowed rate; headroom visible',
      run: async (ctx) => {
        const journal = await ctx.fake.journal();
        const uploads = journal.filter((e) => e.route === 'files.create').sort((a, b) => a.startWallMs - b.startWallMs);
        const [a, b, c, d] = phases;
        if (!a || !b || !c || !d) throw new Error('phase marks missing');
        const start = uploads[0]!.startWallMs;
        const bStart = a.at;
        const open = {
          A: maxOpen(uploads, start, a.at), Bearly: maxOpen(uploads, bStart, bStart + 500), Blate: maxOpen(uploads, b.at - 700, b.at),
          C: maxOpen(uploads, c.at - 300, c.at), D: maxOpen(uploads, d.at - 400, d.at),
        };
        const tail = uploads.filter((e) => e.startWallMs >= d.at + 300);
        const openE = maxOpen(uploads, d.at + 300, Number.POSITIVE_INFINITY);
        // Throughput in B once the burst is spent: successful uploads per second against the allowed rate.
        const inB = uploads.filter((e) => e.status === 200 && (e.endWallMs ?? Infinity) >= bStart + 300 && (e.endWallMs ?? Infinity) < b.at);
        const rate = inB.length / ((b.at - bStart - 300) / 1000);
        // What this machine let the server reach in the same run with no limit (phase A): on
        // a starved CPU that is below 40/s, and 80 % of the limit is then out of reach.
        const inA = uploads.filter((e) => e.status === 200 && (e.endWallMs ?? Infinity) < a.at);
        const rateA = inA.length / ((a.at - start) / 1000);
        const reachable = Math.min(LIMITED_RPS, rateA);
        const rejected = uploads.filter((e) => e.status === 429).length;
        const headrooms = uploads.filter((e) => e.startWallMs >= bStart && e.startWallMs < b.at);
        const metricValues = await gaugeValues(join(ctx.workDir, 'home', 'telemetry'), 'second_brain.ratelimit.headroom');
        const minMetric = metricValues.length ? Math.min(...metricValues) : null;
        ctx.driver.mark(
          `levels (diagnostics) A ${a.level}, B ${b.level}, C ${c.level}, D ${d.level}, E ${phases[4]?.level}; ` +
          `level changes: B ${changed(a, b, 'rate_limited')} for 429s, C ${changed(b, c, 'increase')} up (${heldForLag(b, c)} held for loop lag), D ${changed(c, d, 'latency')} for latency, ` +
          `${phases[4]?.changes?.loop_lag ?? '?'} for loop lag in the whole run; most uploads open: A ${open.A}, early B ${open.Bearly}, late B ${open.Blate}, C ${open.C}, D ${open.D}, E ${openE}; ` +
          `B throughput ${rate.toFixed(1)}/s of ${LIMITED_RPS}/s (${Math.round((100 * rate) / LIMITED_RPS)} %; A without a limit ${rateA.toFixed(1)}/s), ${rejected} × 429; headroom in diagnostics A ${a.headroom} → B ${b.headroom}; ` +
          `metric: ${metricValues.length} point(s), lowest ${minMetric}; ${uploads.length} upload requests, ${tail.length} in E`, 'note');
        const problems: string[] = [];
        if (rejected === 0) problems.push('no upload was answered 429: the limit change did not bite');
        if (!a.changes || !d.changes) problems.push('server_diagnostics did not report uploadConcurrencyChanges');
        const shrankB = changed(a, b, 'rate_limited');
        const grewC = changed(b, c, 'increase');
        const shrankD = changed(c, d, 'latency');
        if (!(shrankB >= 1)) problems.push(`concurrency did not shrink under 429s: ${shrankB} decreases for a 429 in B (level ${a.level} → ${b.level})`);
        // Growth is withheld while the server's own loop lags (the documented rule; in-process
        // the fake shares that loop): then holding is the expected behaviour, and counted.
        const heldC = heldForLag(b, c);
        if (!(grewC >= 1) && !(heldC >= 1)) problems.push(`concurrency did not grow back once the limit was lifted: ${grewC} increases in C, none held for loop lag (level ${b.level} → ${c.level})`);
        if (!(shrankD >= 1)) problems.push(`concurrency did not shrink when latency rose 6.5×: ${shrankD} decreases for latency in D (level ${c.level} → ${d.level})`);
        if (Math.max(...phases.map((p) => p.level ?? 0), open.A, open.C, openE) > 16) problems.push('more than 16 uploads at once');
        if (!(rate >= 0.8 * reachable)) problems.push(`throughput under the limit was ${rate.toFixed(1)}/s, below 80 % of ${reachable.toFixed(1)}/s (the lower of the limit and phase A's ${rateA.toFixed(1)}/s)`);
        if (a.headroom === null || b.headroom === null || !(b.headroom! < a.headroom!)) problems.push(`server_diagnostics headroom did not follow the header: A ${a.headroom}, B ${b.headroom}`);
        if (headrooms.length === 0) problems.push('no upload in phase B');
        if (minMetric === null) problems.push('no second_brain.ratelimit.headroom metric was exported');
        else if (!(minMetric < 100)) problems.push(`the headroom metric never showed the countdown (lowest ${minMetric})`);
        if (problems.length) throw new Error(problems.join('; '));
      },
    },
  ],
  rules: {
    leaks: {
      maxFdGrowth: 40,
      reason: 'loopback: the OpenAI client keeps one keep-alive socket per request that ran at once (upload concurrency up to 16), and the fake answers with keep-alive timeout 60 s; measured +17…+31 descriptors across the KI-01 runs',
    },
  },
  provenAgainst: { defect: 'upload-concurrency-fixed', note: 'a fixed upload concurrency, as the first version’s fixed parallel batches' },
});
