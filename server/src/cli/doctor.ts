/**
 * `second-brain doctor`: checks what a first run needs — the Node version, the state dir,
 * each provider's key and endpoint, the telemetry destination — and says what to do about
 * each failure. `--json` prints one object shaped like `server_diagnostics` (snake_case,
 * one key per area). Exit code 1 when any check fails; warnings and skipped checks do not.
 *
 * Every network check is one cheap request bounded by DEFAULTS.DOCTOR_CHECK_TIMEOUT_MS and
 * the caller's signal; nothing here writes to the state database.
 */
import { constants as fsConstants } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DEFAULTS } from '../config/defaults.ts';
import { loadConfig, type ProviderConfig, type ServerConfig } from '../config/env.ts';
import { isSbError } from '../errors.ts';
import { latestVersion, schemaVersion } from '../state/db.ts';
import { stateError } from '../state/state-errors.ts';
import { readTelemetryConfig, type OtlpTarget, type Signal } from '../config/telemetry.ts';
import { SERVER_VERSION } from '../mcp/create-server.ts';

export type CheckStatus = 'ok' | 'warn' | 'skipped' | 'fail';

export interface CheckResult {
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do about a warning or failure. */
  fix?: string;
  [extra: string]: unknown;
}

export interface DoctorReport {
  ok: boolean;
  version: string;
  checked_at: string;
  node: CheckResult;
  config: CheckResult;
  state: CheckResult;
  providers: Record<string, CheckResult>;
  telemetry: Record<string, CheckResult>;
}

export interface DoctorOptions {
  /** The settings to check (main.ts passes process.env). */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Per network check. Default DEFAULTS.DOCTOR_CHECK_TIMEOUT_MS (5 s). */
  timeoutMs?: number;
  /** The running Node's version (tests pass an old one). Default process.versions.node. */
  nodeVersion?: string;
}

/** Runs every check and returns the report. Never throws for a failed check; only for an abort. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const env = options.env;
  const signal = options.signal ?? new AbortController().signal;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.DOCTOR_CHECK_TIMEOUT_MS;
  const node = checkNode(options.nodeVersion ?? process.versions.node);
  let config: ServerConfig | undefined;
  let configCheck: CheckResult;
  try {
    config = loadConfig(env);
    configCheck = { status: 'ok', detail: 'settings are valid' };
  } catch (err) {
    configCheck = { status: 'fail', detail: isSbError(err) ? err.message : String(err), fix: 'Correct the setting named above (see the README\'s settings table).' };
  }
  const notRun: CheckResult = { status: 'skipped', detail: 'not checked: the settings are invalid', fix: 'Fix the settings first.' };
  const state = config ? await checkState(config.home, config.dbPath) : notRun;
  const providers: Record<string, CheckResult> = {};
  const telemetry: Record<string, CheckResult> = {};
  if (config) {
    const list = Object.values(config.providers);
    const [results] = await Promise.all([
      Promise.all(list.map((p) => checkProvider(p, signal, timeoutMs))),
      checkTelemetry(env, config.home, signal, timeoutMs, telemetry),
    ]);
    list.forEach((p, i) => { providers[p.id] = results[i]!; });
  }
  const all = [node, configCheck, state, ...Object.values(providers), ...Object.values(telemetry)];
  return {
    ok: !all.some((c) => c.status === 'fail'),
    version: SERVER_VERSION,
    checked_at: new Date().toISOString(),
    node, config: configCheck, state, providers, telemetry,
  };
}

function checkNode(version: string): CheckResult {
  const need = DEFAULTS.DOCTOR_MIN_NODE;
  if (compareVersions(version, need) >= 0) return { status: 'ok', detail: `Node.js ${version} (needs ≥ ${need})`, node_version: version };
  return {
    status: 'fail', node_version: version,
    detail: `Node.js ${version} is older than ${need}, which the server needs (TypeScript type stripping, node:sqlite)`,
    fix: 'Start the server with bin/second-brain.js or npx second-brain: they use the Node 24 that npm install brings. Or install Node ≥ 22.18.',
  };
}

/** -1, 0 or 1 comparing dotted version numbers. */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

async function checkState(home: string, dbPath: string): Promise<CheckResult> {
  let mode: number;
  try {
    const s = await stat(home);
    if (!s.isDirectory()) return { status: 'fail', path: home, detail: `${home} is not a directory`, fix: 'Set SECOND_BRAIN_HOME to a directory, or move the file away.' };
    mode = s.mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { status: 'ok', path: home, detail: `${home} does not exist yet; the first start creates it (mode 0700)` };
    }
    return { status: 'fail', path: home, detail: `cannot read ${home}: ${(err as Error).message}`, fix: 'Make it readable by this user, or set SECOND_BRAIN_HOME to another directory.' };
  }
  const writable = await probeWritable(home);
  if (writable !== true) {
    const reason = (writable as Error)?.message ?? String(writable);
    return { status: 'fail', path: home, detail: `${home} is not writable by this user (${reason})`, fix: `Make it writable (chmod u+rwx "${home}"), or set SECOND_BRAIN_HOME to another directory.` };
  }
  const base = { path: home, mode: `0${mode.toString(8)}` };
  const schema = readSchemaVersion(dbPath);
  if (schema.status === 'fail') return { ...base, ...schema };
  if ((mode & 0o077) !== 0) {
    return { ...base, schema_version: schema.version, status: 'warn', detail: `${home} is writable but readable by others (mode 0${mode.toString(8)}); it holds your questions and answers. ${schema.detail}`, fix: `chmod 700 "${home}"` };
  }
  return { ...base, schema_version: schema.version, status: 'ok', detail: `${home} is writable and private (0${mode.toString(8)}). ${schema.detail}` };
}

/** Creates and removes a probe file: the only test of writability that holds for root and read-only mounts alike. */
async function probeWritable(dir: string): Promise<true | unknown> {
  const probe = join(dir, `.doctor-${process.pid}-${Date.now()}`);
  try {
    const fh = await open(probe, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600);
    await fh.close();
    await rm(probe, { force: true });
    return true;
  } catch (err) {
    return err;
  }
}

function readSchemaVersion(dbPath: string): { status: CheckStatus; detail: string; version?: number; fix?: string } {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(dbPath, { readOnly: true });
    const found = schemaVersion(db);
    const latest = latestVersion();
    if (found > latest) {
      return { status: 'fail', version: found, detail: `${dbPath} has schema version ${found}, newer than this second-brain understands (${latest})`, fix: 'Run the newer second-brain that wrote it, or set SECOND_BRAIN_HOME to another directory.' };
    }
    if (found < latest) return { status: 'ok', version: found, detail: `State schema version ${found}; the next start upgrades it to ${latest}.` };
    return { status: 'ok', version: found, detail: `State schema version ${found} (current).` };
  } catch (err) {
    if ((err as { errcode?: number }).errcode === 14) return { status: 'ok', detail: 'No state database yet; the first start creates it.' };
    const e = stateError(err, dbPath, 'read');
    return { status: 'fail', detail: isSbError(e) ? e.message : `cannot read ${dbPath}: ${String(err)}`, fix: isSbError(e) ? 'See the advice above.' : 'Check the file\'s permissions.' };
  } finally {
    try { db?.close(); } catch { /* not open */ }
  }
}

/** One authenticated GET /models: cheap on every provider, and it proves both the key and the endpoint. */
async function checkProvider(p: ProviderConfig, signal: AbortSignal, timeoutMs: number): Promise<CheckResult> {
  const base = { endpoint: p.baseURL, key_var: p.keyVar };
  if (!p.apiKey) return { ...base, status: 'skipped', detail: `skipped (no key): ${p.keyVar} is not set`, fix: `Set ${p.keyVar} to use ${p.id}'s models; the other providers work without it.` };
  const url = `${p.baseURL.replace(/\/+$/, '')}/models`;
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${p.apiKey}` }, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
    await res.body?.cancel();
  } catch (err) {
    signal.throwIfAborted();
    return { ...base, status: 'fail', detail: `unreachable: GET ${url} failed (${networkReason(err, timeoutMs)})`, fix: `Check the network and ${p.id.toUpperCase()}_BASE_URL (now ${p.baseURL}).` };
  }
  const ms = Math.round(performance.now() - started);
  const withStatus = { ...base, http_status: res.status, latency_ms: ms };
  if (res.ok) return { ...withStatus, status: 'ok', detail: `key accepted: GET /models answered ${res.status} in ${ms} ms` };
  if (res.status === 401 || res.status === 403) {
    return { ...withStatus, status: 'fail', detail: `key rejected: GET /models answered ${res.status}`, fix: `Check ${p.keyVar}: it is wrong, revoked, or for another provider.` };
  }
  return { ...withStatus, status: 'warn', detail: `reachable, but GET /models answered ${res.status}, so the key was not verified`, fix: `If ${p.baseURL} is not an OpenAI-compatible endpoint ending in its version (e.g. /v1), correct ${p.id.toUpperCase()}_BASE_URL.` };
}

/** fetch's "fetch failed" hides the reason in its cause (an errno, or several for several addresses). */
function networkReason(err: unknown, timeoutMs: number): string {
  if ((err as Error)?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string; errors?: Array<{ code?: string }> } }).cause;
  return cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
}

async function checkTelemetry(env: NodeJS.ProcessEnv, home: string, signal: AbortSignal, timeoutMs: number, out: Record<string, CheckResult>): Promise<void> {
  let cfg;
  try { cfg = readTelemetryConfig(env, home); } catch (err) {
    out.settings = { status: 'fail', detail: isSbError(err) ? err.message : String(err), fix: 'Correct the OTEL_* setting named above.' };
    return;
  }
  if (cfg.disabled) { out.settings = { status: 'ok', detail: 'telemetry is off (OTEL_SDK_DISABLED=true)' }; return; }
  const signals: Signal[] = ['traces', 'metrics', 'logs'];
  const seen = new Map<string, Promise<CheckResult>>();
  const fileSignals: Signal[] = [];
  for (const s of signals) {
    const target = cfg[s];
    if (target.kind === 'none') { out[s] = { status: 'ok', detail: `${s} export is off` }; continue; }
    if (target.kind === 'file') { fileSignals.push(s); continue; }
    if (!seen.has(target.url)) seen.set(target.url, checkOtlp(target, signal, timeoutMs));
  }
  for (const s of signals) {
    const target = cfg[s];
    if (target.kind === 'otlp') out[s] = { ...(await seen.get(target.url)!) };
  }
  if (fileSignals.length > 0) out.files = await checkFilesDir(cfg.files.dir, home, fileSignals);
}

/** An empty export request: valid OTLP for either protocol, and it stores nothing. */
async function checkOtlp(target: OtlpTarget, signal: AbortSignal, timeoutMs: number): Promise<CheckResult> {
  const json = target.protocol === 'http/json';
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': json ? 'application/json' : 'application/x-protobuf' },
      body: json ? '{}' : new Uint8Array(0),
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    await res.body?.cancel();
    if (res.ok) return { status: 'ok', endpoint: target.url, http_status: res.status, detail: `OTLP collector at ${target.url} accepted an empty export (${res.status})` };
    return { status: 'warn', endpoint: target.url, http_status: res.status, detail: `OTLP collector at ${target.url} answered ${res.status}`, fix: 'Check the endpoint path, OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_PROTOCOL.' };
  } catch (err) {
    signal.throwIfAborted();
    return { status: 'fail', endpoint: target.url, detail: `OTLP collector unreachable at ${target.url} (${networkReason(err, timeoutMs)}); the server keeps running and counts the records it drops`, fix: 'Start the collector (docker compose up -d), correct OTEL_EXPORTER_OTLP_ENDPOINT, or unset it to write local files.' };
  }
}

async function checkFilesDir(dir: string, home: string, signals: Signal[]): Promise<CheckResult> {
  const what = `local files for ${signals.join(', ')}`;
  try {
    await stat(dir);
  } catch {
    try { await stat(home); } catch { return { status: 'ok', path: dir, detail: `${what} go to ${dir}, created on first start` }; }
    const w = await probeWritable(home);
    return w === true
      ? { status: 'ok', path: dir, detail: `${what} go to ${dir}, created on first start` }
      : { status: 'fail', path: dir, detail: `${what}: cannot create ${dir} (${String((w as Error)?.message ?? w)})`, fix: 'Make the state dir writable, set SECOND_BRAIN_HOME, or send telemetry to a collector with OTEL_EXPORTER_OTLP_ENDPOINT.' };
  }
  const w = await probeWritable(dir);
  if (w === true) return { status: 'ok', path: dir, detail: `${what} go to ${dir} (writable)` };
  return { status: 'fail', path: dir, detail: `${what}: ${dir} is not writable (${String((w as Error)?.message ?? w)})`, fix: `Make ${dir} writable by this user, or send telemetry to a collector with OTEL_EXPORTER_OTLP_ENDPOINT.` };
}

const MARK: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', skipped: 'skipped', fail: 'FAIL' };

/** The report as a table: one row per check, with what to do under each warning or failure. */
export function formatDoctorReport(r: DoctorReport): string {
  const rows: Array<[string, CheckResult]> = [
    ['node', r.node], ['settings', r.config], ['state dir', r.state],
    ...Object.entries(r.providers).map(([k, v]) => [`provider ${k}`, v] as [string, CheckResult]),
    ...Object.entries(r.telemetry).map(([k, v]) => [`telemetry ${k}`, v] as [string, CheckResult]),
  ];
  const w1 = Math.max(...rows.map(([n]) => n.length));
  const w2 = Math.max(...rows.map(([, c]) => MARK[c.status].length));
  const lines = [`second-brain ${r.version} doctor`, ''];
  for (const [name, c] of rows) {
    lines.push(`${name.padEnd(w1)}  ${MARK[c.status].padEnd(w2)}  ${c.detail}`);
    if (c.fix && (c.status === 'warn' || c.status === 'fail')) lines.push(`${''.padEnd(w1 + w2 + 4)}→ ${c.fix}`);
  }
  const failed = rows.filter(([, c]) => c.status === 'fail').length;
  lines.push('', failed === 0 ? 'All checks passed.' : `${failed} check(s) failed.`);
  return lines.join('\n');
}

export interface DoctorCliOptions extends DoctorOptions {
  json: boolean;
  out: (line: string) => void;
}

/** The `doctor` subcommand: prints the table (or JSON) and returns the exit code, 1 when a check failed. */
export async function runDoctorCli(options: DoctorCliOptions): Promise<number> {
  const ac = new AbortController();
  const onSigint = () => ac.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  try {
    const signal = options.signal ? AbortSignal.any([options.signal, ac.signal]) : ac.signal;
    const report = await runDoctor({ ...options, signal });
    options.out(options.json ? JSON.stringify(report, null, 2) : formatDoctorReport(report));
    return report.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
