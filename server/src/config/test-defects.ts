/**
 * Test-only defect switches (SECOND_BRAIN_TEST_DEFECTS=a,b). Each one reintroduces a
 * failure from the known-issues catalogue, so a scenario can be shown to fail against
 * the defect it guards. They are never on unless named, and an unknown name is a
 * startup error (so a typo cannot make a proof silently pass). The registry lives here,
 * in the lowest layer, because config/ validates the names; the implementations live in
 * server/src/defects/ (seams.ts swaps them in; index.ts lists the remaining branches).
 */
export const TEST_DEFECTS = {
  'poll-ignores-signal': 'KI-03: background polling sleeps and retrieves without the call signal.',
  'no-upstream-cancel': 'KI-03: a cancelled background response is not cancelled upstream.',
  'xai-ignores-signal': 'KI-05: the xAI adapter drops the abort signal, as the first version did.',
  'gemini-ignores-signal': 'KI-05: the Gemini adapter drops the abort signal.',
  'ignore-retry-after': 'KI-17: retry-after is ignored and retries go out at once.',
  'gather-ignores-signal': 'KI-03: reading and counting the context files runs without the call signal.',
  'upload-ignores-signal': 'KI-03: the vector-store work (uploads, batch polling) runs without the call signal.',
  'retry-sleep-ignores-signal': 'KI-03: the backoff sleep between retries ignores the call signal.',
  'throw-after-cancel': 'KI-04: a cancelled call leaves behind a rejected promise nobody awaits ("already answered"), after its reply.',
  'no-rejection-guard': 'KI-04: no process-level handler for unhandled rejections and uncaught exceptions (Node exits on the first one).',
  'no-progress-heartbeat': 'KI-06: no progress notifications, so a client with a 60 s timeout gives up on a long background response.',
  'lose-background-result': 'KI-06: a finished background response is never handed back: the reply (and the job) wait forever.',
  'no-session-lock': 'KI-15: calls in one session are not serialised; concurrent follow-ups chain from the same previous response.',
  'session-lock-leak': 'KI-15: a finished call keeps its session slot, so the next follow-up hangs before any request is sent.',
  'no-connection-retry': 'KI-16: a request that fails on a pooled connection the other side closed is not retried.',
  'no-shared-throttle': 'KI-18: each process learns of an account throttle by itself; nothing is shared through the state dir.',
  'diagnostics-behind-calls': 'KI-20: server_diagnostics waits until no other call is in flight, so a busy server looks dead.',
  'store-create-lock-leak': 'KI-01: a process-wide store-creation lock is never given back; the second overflow query hangs before its store is created.',
  'memory-on-event-loop': 'KI-01, KI-11: the memory task runs git synchronously on the event loop (once per file), starving the next query.',
  'store-cleanup-disabled': 'KI-13: the janitor deletes nothing (deletion disabled, as in the first version), so orphaned stores and files pile up.',
  'store-limit-retried': 'KI-13: stores are created without counting first, and the provider\'s limit error is retried until the call deadline.',
  'dedup-by-path-only': 'KI-14: a file already in the session\'s store is matched by path alone, so a changed file is not uploaded again.',
  'batch-no-deadline': 'KI-19: a file batch is polled without a budget of its own, so a stuck batch holds the call until its deadline.',
  'upload-concurrency-fixed': 'KI-22: upload concurrency stays at its starting level whatever 429s, latency and headroom say.',
  'delete-leaks-permit': 'KI-02: vector-store requests share one permit and a delete cancelled by its deadline keeps it for good.',
  'sync-stderr-logger': 'KI-10: logs go to stderr through pino\'s synchronous destination, which blocks on a full pipe.',
  'blocking-telemetry-export': 'KI-09, KI-21: every log record is shipped to the OTLP logs endpoint synchronously, on the event loop.',
  'per-file-uploads': 'KI-08, KI-12: overflow goes to the vector store as one upload per file, not packed into bundles.',
  'unbounded-gather': 'KI-08, KI-12: context gathering opens every file at once, past the gather limiter and the reader thread.',
} as const satisfies Record<string, string>;

export type TestDefect = keyof typeof TEST_DEFECTS;

export function isTestDefect(name: string): name is TestDefect {
  return Object.hasOwn(TEST_DEFECTS, name);
}

/**
 * The process's switched-on defects, for the remaining branches in code that has no App
 * at hand (the vector store, the context engine). Installed once at startup (services.ts,
 * through defects/seams.ts) from the validated configuration; empty otherwise, so every
 * `defectOn` is false in production.
 */
let installed: ReadonlySet<TestDefect> = new Set();

export function installTestDefects(defects: ReadonlySet<TestDefect>): void {
  installed = defects;
}

/** Whether a named defect is on. The name is typed: a misspelt one does not compile. */
export function defectOn(name: TestDefect): boolean {
  return installed.size > 0 && installed.has(name);
}
