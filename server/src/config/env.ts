/**
 * Configuration from the environment, validated eagerly: unknown values are an error at
 * startup that names the variable and what it accepts.
 */
import { homedir } from 'node:os';
import { join, resolve, delimiter } from 'node:path';
import { ErrorCode, SbError } from '../errors.ts';
import { DEFAULTS } from './defaults.ts';
import { TEST_DEFECTS } from './test-defects.ts';
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
  /** Calls whose deadline is at least this long use OpenAI background mode. */
  backgroundThresholdMs: number;
  /**
   * Multiplies the server's internal intervals (progress heartbeat, background polling,
   * janitor). 1 in production; the chaos harness compresses time with e.g. 0.1.
   */
  timeScale: number;
  /** Test-only fault switches (SECOND_BRAIN_TEST_DEFECTS=a,b) that reintroduce known defects to prove scenarios bite. */
  testDefects: ReadonlySet<string>;
  /** Largest JSON-RPC message (one line) read over stdio, bytes (SECOND_BRAIN_STDIO_MAX_MESSAGE_BYTES). */
  stdioMaxMessageBytes: number;
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

function parseDefects(raw: string | undefined): ReadonlySet<string> {
  const names = (raw || '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(n in TEST_DEFECTS)) throw new SbError(ErrorCode.CONFIG, `SECOND_BRAIN_TEST_DEFECTS: unknown defect "${n}". Known: ${Object.keys(TEST_DEFECTS).join(', ')}.`);
  }
  return new Set(names);
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
    backgroundThresholdMs: DEFAULTS.BACKGROUND_THRESHOLD_MS,
    timeScale: positiveNumber(env, 'SECOND_BRAIN_TIME_SCALE', 1),
    testDefects: parseDefects(env.SECOND_BRAIN_TEST_DEFECTS),
    stdioMaxMessageBytes: byteCount(env, 'SECOND_BRAIN_STDIO_MAX_MESSAGE_BYTES', DEFAULTS.STDIO_MAX_MESSAGE_BYTES, 65_536),
  };
}
