/**
 * Test defects: the switches (SECOND_BRAIN_TEST_DEFECTS=a,b) that reintroduce a failure
 * of the known-issues catalogue, so a chaos scenario can be shown to fail against the
 * defect it guards. The registry is config/test-defects.ts (re-exported here; config/
 * validates the names at startup, an unknown one stops the server). Every implementation
 * that exists only for a defect lives in this folder, and only the wiring (app.ts,
 * services.ts, main.ts) imports it: seams.ts picks, at construction time, the component
 * each switch swaps in. The build enforces both (eslint.boundaries.js).
 *
 * Swapped at a seam (seams.ts):
 * - no-session-lock, session-lock-leak: App.locks (state/sessions.ts SessionLock).
 * - xai-ignores-signal, gemini-ignores-signal: ChatCompletionsDeps.send.
 * - sync-stderr-logger: the logger's destination (CreateLoggerOptions.destination).
 * - blocking-telemetry-export: StartTelemetryOptions.logShipper.
 * - memory-on-event-loop: MemoryQueueOptions.entryGitInfo.
 * - store-create-lock-leak, delete-leaks-permit, store-limit-retried: the vector-store gates (vector/gates.ts).
 *
 * Still a branch at the call site (`defectOn(...)`, or the validated set), one line why:
 * - ignore-retry-after, retry-sleep-ignores-signal, no-connection-retry, no-shared-throttle
 *   (app.ts, the wiring, passes them to resilience/): options of the one retry engine's
 *   decisions (which wait, which signal, whether a reset is retried, whether the board is
 *   written); each is one line in a decision, not a component.
 * - batch-no-deadline (vector/batches.ts): one number (the batch budget); no component to swap.
 * - poll-ignores-signal (providers/openai-responses.ts): the signal of three steps inside one polling loop.
 * - no-upstream-cancel (providers/openai-responses.ts): one early return in the best-effort cancel.
 * - gather-ignores-signal, upload-ignores-signal (flow/chat-call.ts): which signal a call's stage gets, chosen per call.
 * - per-file-uploads (flow/chat-call.ts): which of the manager's two public methods the flow calls.
 * - lose-background-result (flow/chat-call.ts): a wait inside the call flow, after the poller answered.
 * - no-progress-heartbeat, throw-after-cancel (mcp/tool-call.ts): a line each in the per-call tool wrapper.
 * - diagnostics-behind-calls (mcp/create-server.ts): a wait inside one tool's handler.
 * - no-rejection-guard (main.ts): whether main installs the process handlers; it is wiring already.
 * - store-cleanup-disabled (vector/janitor.ts): an early return inside one janitor pass.
 * - dedup-by-path-only (vector/manager.ts): three comparisons inside the dedup query.
 * - upload-concurrency-fixed (vector/adaptive-concurrency.ts): an early return in the controller's adjust step.
 * - unbounded-gather (context/read-files.ts): the read strategy chosen inside one function.
 */
export { TEST_DEFECTS, isTestDefect, type TestDefect } from '../config/test-defects.ts';
export { completionSender, installDefects, logDestination, memoryGitReader, sessionLock, telemetryLogShipper } from './seams.ts';
