/**
 * Configuration from the environment, validated eagerly: unknown values are an error at
 * startup that names the variable and what it accepts.
 */
import { homedir } from 'node:os';
import { join, resolve, delimiter } from 'node:path';
import { ErrorCode, SbError } from '../errors.ts';
import { DEFAULTS } from './defaults.ts';
import { TEST_DEFECTS, isTestDefect, type TestDefect } from './test-defects.ts';
import { loadCatalogue, type Catalogue, type ProviderId } from './models.ts';

export interface ProviderConfig {
  id: ProviderId;
  apiKey?: string;
  /** Env var a user sets to provide the key (named in errors). */
  keyVar: string;
  baseURL: string;
}

export interface ServerConfig {
  home: string;
  dbPath: string;
  logLevel: string;
  allowedPaths: string[];
  providers: Record<ProviderId, ProviderConfig>;
  catalogue: Catalogue;
  memoryEnabled: boolean;
  /**
   * Store calls to xAI and Gemini in project memory too (SECOND_BRAIN_MEMORY_ALL_PROVIDERS).
   * Memory lives in an OpenAI vector store, so by default only OpenAI calls go there.
   */
  memoryAllProviders: boolean;
  /** Calls whose deadline is at least this long use OpenAI background mode. */
  backgroundThresholdMs: number;
  /**
   * Multiplies the server's internal intervals (progress heartbeat, background polling,
   * janitor). 1 in production; the chaos harness compresses time with e.g. 0.1.
   */
  timeScale: number;
  /** Test-only fault switches (SECOND_BRAIN_TEST_DEFECTS=a,b) that reintroduce known defects to prove scenarios bite. */
  testDefects: ReadonlySet<TestDefect>;
  /** Largest JSON-RPC message (one line) read over stdio, bytes (SECOND_BRAIN_STDIO_MAX_MESSAGE_BYTES). */
  stdioMaxMessageBytes: number;
  /** The largest send, in input tokens, made without `confirm_large: true` (SECOND_BRAIN_CONFIRM_ABOVE_TOKENS). */
  confirmAboveTokens: number;
  /** Streamable HTTP mode (`--http`): access control and session bounds. */
  http: HttpConfig;
  /** Bytes of log records held while stderr does not take data (SECOND_BRAIN_LOG_BUFFER_BYTES, see `logBufferBytesFromEnv`). */
  logBufferBytes: number;
  /** Vector-store limits and janitor tuning (SECOND_BRAIN_VECTOR_LIMITS, SECOND_BRAIN_JANITOR, see `vectorTuningFromEnv`). */
  vectorTuning: VectorTuning;
}

/** Settings of the Streamable HTTP transport (see `readHttpConfig`). */
export interface HttpConfig {
  /** SECOND_BRAIN_HTTP_TOKEN; when unset a token is generated and kept in the state dir. */
  token?: string;
  /** SECOND_BRAIN_HTTP_ALLOWED_HOSTS: Host values accepted besides the loopback names with the server's port (`name` = any port, `name:port` = that port). */
  allowedHosts: string[];
  /** SECOND_BRAIN_HTTP_ALLOWED_ORIGINS: Origin values accepted besides the loopback origins with the server's port. */
  allowedOrigins: string[];
  maxSessions: number;
  sessionIdleMs: number;
  maxBodyBytes: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function bool(env: NodeJS.ProcessEnv, name: string, dflt: boolean): boolean {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new SbError(ErrorCode.CONFIG, `${name}="${v}" is not a boolean. Use true or false.`);
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new SbError(ErrorCode.CONFIG, `${name}="${v}" is not a number in (0, 1]. Use e.g. 0.1.`);
  return n;
}

function byteCount(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new SbError(ErrorCode.CONFIG, `${name}="${v}" is not a whole number of bytes >= ${min}. Use e.g. ${dflt}.`);
  return n;
}

function parseDefects(raw: string | undefined): ReadonlySet<TestDefect> {
  const names = (raw || '').split(',').map((s) => s.trim()).filter(Boolean);
  const out = new Set<TestDefect>();
  for (const n of names) {
    if (!isTestDefect(n)) throw new SbError(ErrorCode.CONFIG, `SECOND_BRAIN_TEST_DEFECTS: unknown defect "${n}". Known: ${Object.keys(TEST_DEFECTS).join(', ')}.`);
    out.add(n);
  }
  return out;
}

/** Reads the whole configuration. Throws SB_ERR_CONFIG on invalid settings; a missing API key is not an error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const home = resolve(env.SECOND_BRAIN_HOME || join(homedir(), '.second-brain'));
  const logLevel = (env.SECOND_BRAIN_LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new SbError(ErrorCode.CONFIG, `SECOND_BRAIN_LOG_LEVEL="${env.SECOND_BRAIN_LOG_LEVEL}" is not a level. Use one of ${LOG_LEVELS.join(', ')}.`);
  }
  const allowedPaths = (env.SECOND_BRAIN_ALLOWED_PATHS || '').split(delimiter).filter(Boolean).map((p) => resolve(p));
  const providers: Record<ProviderId, ProviderConfig> = {
    openai: { id: 'openai', apiKey: env.OPENAI_API_KEY || undefined, keyVar: 'OPENAI_API_KEY', baseURL: env.OPENAI_BASE_URL || 'https://api.openai.com/v1' },
    xai: { id: 'xai', apiKey: env.XAI_API_KEY || undefined, keyVar: 'XAI_API_KEY', baseURL: env.XAI_BASE_URL || 'https://api.x.ai/v1' },
    gemini: { id: 'gemini', apiKey: env.GEMINI_API_KEY || undefined, keyVar: 'GEMINI_API_KEY', baseURL: env.GEMINI_BASE_URL || 'https://generativelanguage.googleapis.com/v1beta/openai' },
  };
  for (const p of Object.values(providers)) {
    try { new URL(p.baseURL); } catch {
      throw new SbError(ErrorCode.CONFIG, `${p.id.toUpperCase()}_BASE_URL="${p.baseURL}" is not a URL. Use e.g. https://host/v1.`);
    }
  }
  return {
    home,
    dbPath: join(home, 'state.sqlite'),
    logLevel,
    allowedPaths,
    providers,
    catalogue: loadCatalogue(env.SECOND_BRAIN_MODELS || undefined),
    memoryEnabled: bool(env, 'SECOND_BRAIN_MEMORY', true),
    memoryAllProviders: bool(env, 'SECOND_BRAIN_MEMORY_ALL_PROVIDERS', false),
    backgroundThresholdMs: DEFAULTS.BACKGROUND_THRESHOLD_MS,
    timeScale: positiveNumber(env, 'SECOND_BRAIN_TIME_SCALE', 1),
    testDefects: parseDefects(env.SECOND_BRAIN_TEST_DEFECTS),
    stdioMaxMessageBytes: byteCount(env, 'SECOND_BRAIN_STDIO_MAX_MESSAGE_BYTES', DEFAULTS.STDIO_MAX_MESSAGE_BYTES, 65_536),
    confirmAboveTokens: positiveInteger(env, 'SECOND_BRAIN_CONFIRM_ABOVE_TOKENS', DEFAULTS.CONFIRM_ABOVE_TOKENS),
    http: readHttpConfig(env),
    logBufferBytes: logBufferBytesFromEnv(env),
    vectorTuning: vectorTuningFromEnv(env),
  };
}

/** Environment variable that overrides the stderr buffer bound (bytes). */
export const LOG_BUFFER_ENV = 'SECOND_BRAIN_LOG_BUFFER_BYTES';

/**
 * The stderr buffer bound: SECOND_BRAIN_LOG_BUFFER_BYTES, else DEFAULTS.LOG_BUFFER_MAX_BYTES
 * (1 MiB). Throws SB_ERR_CONFIG naming the variable when it is not a whole number ≥
 * DEFAULTS.LOG_BUFFER_MIN_BYTES.
 */
export function logBufferBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[LOG_BUFFER_ENV]?.trim();
  if (!raw) return DEFAULTS.LOG_BUFFER_MAX_BYTES;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < DEFAULTS.LOG_BUFFER_MIN_BYTES) {
    throw new SbError(ErrorCode.CONFIG, `${LOG_BUFFER_ENV}="${raw}" is not a whole number of bytes ≥ ${DEFAULTS.LOG_BUFFER_MIN_BYTES}. Use e.g. 1048576.`);
  }
  return n;
}

/**
 * The keys SECOND_BRAIN_VECTOR_LIMITS accepts: the fields of vector/limits.ts
 * `VectorLimits` (config/vector-settings.test.ts keeps the two lists equal).
 */
export const VECTOR_LIMIT_KEYS = [
  'uploadConcurrencyStart', 'uploadConcurrencyMin', 'uploadConcurrencyMax', 'uploadMaxAttempts', 'uploadMaxRateLimitRetries',
  'uploadRequestTimeoutMs', 'uploadLeaseMs', 'readConcurrency', 'batchMaxFiles', 'batchConcurrency', 'batchPollIntervalMs',
  'batchDeadlineMs', 'claimPollIntervalMs', 'storeLimit', 'storeReserve', 'storeExpiresAfterDays', 'storeEvictMinIdleMs',
  'cleanupRequestTimeoutMs', 'retryBaseDelayMs', 'retryMaxDelayMs', 'bundleMaxBytes', 'bundleMinBytes',
] as const;

/** The keys SECOND_BRAIN_JANITOR accepts: tunable fields of vector/janitor.ts `JanitorOptions` (services.ts checks the type). */
export const JANITOR_TUNING_KEYS = [
  'intervalMs', 'startupDelayMs', 'startupRunTimeoutMs', 'storeIdleTtlMs', 'deleteConcurrency', 'deleteTimeoutMs', 'deleteMaxAttempts', 'retryBaseMs',
  'instanceStaleMs', 'orphanGraceMs', 'journalGraceMs', 'uploadRequestTimeoutMs', 'maxDeletesPerRun',
] as const;

export interface VectorTuning {
  limits?: Partial<Record<(typeof VECTOR_LIMIT_KEYS)[number], number>>;
  janitor?: Partial<Record<(typeof JANITOR_TUNING_KEYS)[number], number>>;
}

/**
 * Vector-store tuning for tests and unusual accounts: SECOND_BRAIN_VECTOR_LIMITS and
 * SECOND_BRAIN_JANITOR, each a JSON object of numbers (e.g. `{"batchMaxFiles":8}`). Unset
 * gives nothing; an unknown key or a bad value is SB_ERR_CONFIG naming both.
 */
export function vectorTuningFromEnv(env: NodeJS.ProcessEnv = process.env): VectorTuning {
  const limits = numbersFromEnv(env, 'SECOND_BRAIN_VECTOR_LIMITS', VECTOR_LIMIT_KEYS);
  const janitor = numbersFromEnv(env, 'SECOND_BRAIN_JANITOR', JANITOR_TUNING_KEYS);
  return { ...(limits ? { limits } : {}), ...(janitor ? { janitor } : {}) };
}

/** A JSON object of finite numbers >= 0 from `env[name]`, keys limited to `accepted`; undefined when unset. */
function numbersFromEnv<K extends string>(env: NodeJS.ProcessEnv, name: string, accepted: readonly K[]): Partial<Record<K, number>> | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new SbError(ErrorCode.CONFIG, `${name} is not JSON (${(err as Error).message}). Use an object of numbers, e.g. {"${accepted[0]}":1000}.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SbError(ErrorCode.CONFIG, `${name} must be a JSON object of numbers, e.g. {"${accepted[0]}":1000}.`);
  }
  const out: Partial<Record<K, number>> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!(accepted as readonly string[]).includes(k)) throw new SbError(ErrorCode.CONFIG, `${name}: unknown key "${k}". Accepted: ${accepted.join(', ')}.`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new SbError(ErrorCode.CONFIG, `${name}: "${k}" must be a finite number >= 0; got ${JSON.stringify(v)}.`);
    out[k as K] = v;
  }
  return out;
}

/** Whether the test hooks (e.g. telemetry/watchdog.ts `testBlockLoop`) may run: SECOND_BRAIN_TEST_HOOKS=1, read at each call. */
export function testHooksEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SECOND_BRAIN_TEST_HOOKS === '1';
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new SbError(ErrorCode.CONFIG, `${name}="${v}" is not a positive integer. Use e.g. ${dflt}.`);
  return n;
}

function list(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] || '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** RFC 6750 b64token characters: what may follow "Bearer " in an Authorization header. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const HTTP_TOKEN_MIN_CHARS = 16;

/** Reads the HTTP-mode settings; each bad value is an error naming the variable. */
export function readHttpConfig(env: NodeJS.ProcessEnv = process.env): HttpConfig {
  const token = env.SECOND_BRAIN_HTTP_TOKEN || undefined;
  if (token !== undefined && (token.length < HTTP_TOKEN_MIN_CHARS || !BEARER_TOKEN.test(token))) {
    throw new SbError(ErrorCode.CONFIG, `SECOND_BRAIN_HTTP_TOKEN is not usable as a bearer token. Use at least ${HTTP_TOKEN_MIN_CHARS} characters of A-Z a-z 0-9 - . _ ~ + /, e.g. from \`openssl rand -hex 32\`.`);
  }
  const allowedHosts = list(env, 'SECOND_BRAIN_HTTP_ALLOWED_HOSTS').map((h) => {
    let parsed: URL | undefined;
    try { parsed = new URL(`http://${h}`); } catch { /* reported below */ }
    if (!parsed || parsed.pathname !== '/' || parsed.username || parsed.search) {
      throw new SbError(ErrorCode.CONFIG, `SECOND_BRAIN_HTTP_ALLOWED_HOSTS: "${h}" is not a host name. Use comma-separated names, optionally with a port, e.g. myhost.local,myhost.local:8765.`);
    }
    return parsed.host;
  });
  const allowedOrigins = list(env, 'SECOND_BRAIN_HTTP_ALLOWED_ORIGINS').map((o) => {
    let parsed: URL | undefined;
    try { parsed = new URL(o); } catch { /* reported below */ }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.pathname !== '/' || parsed.search || parsed.hash || parsed.username) {
      throw new SbError(ErrorCode.CONFIG, `SECOND_BRAIN_HTTP_ALLOWED_ORIGINS: "${o}" is not an origin. Use comma-separated scheme://host[:port] values, e.g. https://tools.example.com.`);
    }
    return parsed.origin;
  });
  return {
    token,
    allowedHosts,
    allowedOrigins,
    maxSessions: positiveInteger(env, 'SECOND_BRAIN_HTTP_MAX_SESSIONS', DEFAULTS.HTTP_MAX_SESSIONS),
    sessionIdleMs: positiveInteger(env, 'SECOND_BRAIN_HTTP_SESSION_IDLE_MS', DEFAULTS.HTTP_SESSION_IDLE_MS),
    maxBodyBytes: DEFAULTS.HTTP_MAX_BODY_BYTES,
  };
}
