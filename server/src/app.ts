/**
 * The application's long-lived parts, built once per process from the configuration:
 * state, provider clients and policies, sessions, jobs and background services. Pure
 * construction: no listeners, no transports (main.ts wires those).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ServerConfig } from './config/env.ts';
import { PROVIDERS, type ModelEntry, type ProviderId } from './config/models.ts';
import { openDatabase, type Db } from './state/db.ts';
import { ensurePrivateDir, octal } from './state/private-files.ts';
import { SessionLocks, SessionStore, type SessionLock } from './state/sessions.ts';
import { SessionLeases } from './state/session-leases.ts';
import { JobStore } from './state/jobs.ts';
import { SharedRateLimits } from './state/rate-limits.ts';
import { ProviderClients } from './providers/clients.ts';
import { ProviderResilience, type ResilienceOptions } from './resilience/policy.ts';
import { ThrottleGate } from './resilience/throttle-gate.ts';
import { OpenAIResponsesProvider } from './providers/openai-responses.ts';
import { ChatCompletionsProvider } from './providers/chat-completions.ts';
import type { ChatProvider } from './providers/types.ts';
import { InflightRegistry } from './runtime/inflight.ts';
import { DEFAULTS } from './config/defaults.ts';
import { MemoryReclaimer } from './runtime/memory-reclaim.ts';
import { LoopMonitor, type LoopStats } from './runtime/loop-monitor.ts';
import { logger, type Logger } from './logging/logger.ts';
import { registerSecret } from './logging/redact.ts';
import { ErrorCode, SbError } from './errors.ts';
import { completionSender, sessionLock } from './defects/index.ts';

/** What the vector-store layer offers the call flow (OpenAI overflow). */
export interface OverflowAttacher {
  attachFiles(input: {
    sessionId: string;
    files: Array<{ absPath: string; relPath: string; size: number; mtimeMs: number; sha256?: string; text?: string }>;
    signal: AbortSignal;
    onProgress?: (done: number, total: number, message: string) => void;
  }): Promise<{ vectorStoreId: string; attached: string[]; failed: Array<{ relPath: string; reason: string }>; uploaded?: number; reused?: string[] }>;
  /** The same, packed into bundles (uploads follow bytes, not file count); results by project path. */
  attachOverflow(input: {
    sessionId: string;
    files: Array<{ absPath: string; relPath: string; size: number; mtimeMs: number; sha256?: string; text?: string; bytes?: Uint8Array }>;
    /** Path → sha256 of every file of the call (inline too): tells unchanged bundle members from changed ones. */
    scope?: ReadonlyMap<string, string>;
    signal: AbortSignal;
    onProgress?: (done: number, total: number, message: string) => void;
  }): Promise<{ vectorStoreId: string; attached: string[]; failed: Array<{ relPath: string; reason: string }>; uploaded?: number; reused?: string[]; bundles?: number }>;
  stats(): Record<string, unknown>;
}

/** What project memory offers the call flow. */
export interface MemoryService {
  enqueue(item: { sessionId: string; question: string; answerExcerpt: string; files: string[]; model: string }): void;
  search(input: { query: string; maxResults: number; signal: AbortSignal }): Promise<unknown[]>;
  storeId?(): string | undefined;
  stats(): Record<string, unknown>;
  close(deadlineMs: number): Promise<void>;
}

export interface AppServices {
  vectorStores?: OverflowAttacher;
  memory?: MemoryService;
  janitor?: { stop(): void | Promise<void>; kick?(delayMs?: number): void; runOnce?(signal: AbortSignal): Promise<unknown> };
  /** Event-loop figures (the telemetry watchdog's, when it runs). */
  loopStats?: () => LoopStats;
  /** Dropped telemetry counts. */
  droppedTelemetry?: () => { spans: number; logs: number };
  /** HTTP-mode session figures (open, cap, expired, rejected), when serving --http. */
  httpSessions?: () => Record<string, unknown>;
  close?: () => Promise<void>;
}

export interface App {
  readonly config: ServerConfig;
  readonly instanceId: string;
  readonly startedAt: number;
  readonly db: Db;
  readonly log: Logger;
  readonly clients: ProviderClients;
  readonly resilience: Record<ProviderId, ProviderResilience>;
  /** The throttle gate of each provider account, shared by its chat calls and its vector-store work (KI-17, KI-18). */
  readonly gates: Record<ProviderId, ThrottleGate>;
  readonly providers: Record<ProviderId, ChatProvider>;
  readonly openai: OpenAIResponsesProvider;
  readonly sessions: SessionStore;
  readonly locks: SessionLock;
  readonly jobs: JobStore;
  readonly rateLimits: SharedRateLimits;
  readonly inflight: InflightRegistry;
  readonly loop: LoopMonitor;
  /** Gives a call's garbage back to the system once the server is idle. */
  readonly reclaim: MemoryReclaimer;
  services: AppServices;
  /** Aborted at shutdown: stops new work and hands off jobs. */
  readonly lifetime: AbortController;
  modelByTool(tool: string): ModelEntry | undefined;
}

/**
 * Stops an App: no new work, jobs handed off (their rows stay 'running' for the next
 * process), in-flight calls aborted, services closed — all within `deadlineMs`.
 */
export async function stopApp(app: App, handOff: (ms: number) => Promise<void>, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  const left = () => Math.max(100, deadline - Date.now());
  if (!app.lifetime.signal.aborted) {
    app.lifetime.abort(new SbError(ErrorCode.SHUTTING_DOWN, 'The server is shutting down. Try again when it is back.'));
  }
  await handOff(left()).catch(() => {});
  await app.services.close?.().catch(() => {});
  app.loop.close();
  app.reclaim.close();
}

export interface CreateAppOptions {
  db?: Db;
  resilience?: ResilienceOptions;
  log?: Logger;
}

export function createApp(config: ServerConfig, options: CreateAppOptions = {}): App {
  for (const p of Object.values(config.providers)) registerSecret(p.apiKey);
  const log = options.log ?? logger();
  // The state dir holds questions, answers and job arguments: private whatever the umask.
  const home = ensurePrivateDir(config.home);
  if (home.tightenedFrom !== undefined) log.warn({ dir: config.home, from: octal(home.tightenedFrom), to: '0700' }, `state directory was open to other users (${octal(home.tightenedFrom)}); tightened to 0700`);
  if (home.leftOpen) log.warn({ dir: config.home }, home.leftOpen);
  const db = options.db ?? openDatabase(join(config.home, 'state.sqlite'));
  const clients = new ProviderClients(config.providers);
  const rateLimits = new SharedRateLimits(db);
  const defects = config.testDefects;
  const resilience = {} as Record<ProviderId, ProviderResilience>;
  const gates = {} as Record<ProviderId, ThrottleGate>;
  for (const p of PROVIDERS) {
    // One throttle gate per provider account, for its chat calls and its vector-store work alike (services.ts).
    // The 'no-shared-throttle' test defect (KI-18) keeps each process's throttle knowledge to itself.
    gates[p] = new ThrottleGate(defects.has('no-shared-throttle') ? undefined : rateLimits, p);
    resilience[p] = new ProviderResilience(p, {
      gate: gates[p],
      ignoreRetryAfter: defects.has('ignore-retry-after'),
      retrySleepIgnoresSignal: defects.has('retry-sleep-ignores-signal'),
      noConnectionRetry: defects.has('no-connection-retry'),
      onCircuitChange: (state) => log.warn({ provider: p, circuit: state }, `circuit ${state} for ${p}`),
      ...options.resilience,
    });
  }
  const openai = new OpenAIResponsesProvider({ clients, resilience: resilience.openai, defects, timeScale: config.timeScale });
  const providers: Record<ProviderId, ChatProvider> = {
    openai,
    xai: new ChatCompletionsProvider({ provider: 'xai', clients, resilience: resilience.xai, send: completionSender(defects, 'xai') }),
    gemini: new ChatCompletionsProvider({ provider: 'gemini', clients, resilience: resilience.gemini, send: completionSender(defects, 'gemini') }),
  };
  const byTool = new Map([...config.catalogue.values()].map((m) => [m.tool, m]));
  const instanceId = `${process.pid}-${randomUUID().slice(0, 8)}`;
  const inflight = new InflightRegistry();
  const mb = (b: number | null) => (b === null ? null : Math.round(b / 1_048_576));
  const reclaim = new MemoryReclaimer({
    afterIdleMs: DEFAULTS.RECLAIM_AFTER_IDLE_MS,
    minSlackBytes: DEFAULTS.RECLAIM_MIN_SLACK_BYTES,
    onReclaim: (r) => log.info({ pauseMs: r.lastPauseMs, freedMb: mb(r.lastFreedBytes), rssBeforeMb: mb(r.lastRssBeforeBytes), rssAfterMb: mb(r.lastRssAfterBytes) }, 'idle: returned the last calls\' memory to the system'),
  });
  inflight.onActivity((busy) => (busy ? reclaim.busy() : reclaim.idle()));
  return {
    config, instanceId, startedAt: Date.now(), db, log, clients, resilience, gates, providers, openai,
    sessions: new SessionStore(db), locks: sessionLock(defects, new SessionLocks(new SessionLeases(db))), jobs: new JobStore(db, instanceId),
    rateLimits, inflight, reclaim, loop: new LoopMonitor(), services: {},
    lifetime: new AbortController(),
    modelByTool: (tool) => byTool.get(tool),
  };
}
