/**
 * MCP task execution (experimental in the SDK) for the chat tools: a client that supports
 * tasks can start a chat call, drop it, and fetch the result later with tasks/get and
 * tasks/result; tasks/cancel aborts the work, upstream included.
 *
 * Tasks live in memory, per process: for answers that must survive a restart use
 * start_job / poll_job, which are stored in SQLite.
 */
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, Task } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, SbError } from '../errors.ts';
import { DEFAULTS } from '../config/defaults.ts';

export const TASK_TTL_MS = DEFAULTS.TASK_TTL_MS;
export const TASK_POLL_INTERVAL_MS = DEFAULTS.TASK_POLL_INTERVAL_MS;

/** An in-memory task store whose tasks/cancel aborts the running work. */
export class CancellableTaskStore extends InMemoryTaskStore {
  readonly #controllers = new Map<string, AbortController>();

  track(taskId: string, controller: AbortController): void {
    this.#controllers.set(taskId, controller);
  }

  untrack(taskId: string): void {
    this.#controllers.delete(taskId);
  }

  override async updateTaskStatus(taskId: string, status: Task['status'], statusMessage?: string, sessionId?: string): Promise<void> {
    if (status === 'cancelled') this.#controllers.get(taskId)?.abort(new SbError(ErrorCode.CANCELLED, 'The task was cancelled.'));
    return super.updateTaskStatus(taskId, status, statusMessage, sessionId);
  }

  /** Aborts every running task (shutdown). */
  abortAll(reason: unknown): void {
    for (const c of this.#controllers.values()) c.abort(reason);
  }

  get running(): number { return this.#controllers.size; }
}

/**
 * A plain tools/call to a task-capable tool would otherwise go through the SDK's
 * automatic task polling, whose sleeps ignore the request's AbortSignal and which sends
 * no progress (KI-03, KI-06). Plain calls keep the direct path instead: `direct` runs the
 * tool exactly as a non-task tool would.
 *
 * The SDK has no public switch for this, so its (private) `handleAutomaticTaskPolling` is
 * replaced on this instance. The SDK version is pinned exactly in server/package.json, and
 * this fails at start-up, naming the member, when an SDK no longer has it (tasks.test.ts
 * checks the installed one), rather than silently falling back to the polling path.
 */
export const SDK_TASK_POLLING_MEMBER = 'handleAutomaticTaskPolling';

export function keepDirectPathForPlainCalls(
  mcp: McpServer,
  direct: (name: string, rawArgs: unknown, extra: unknown) => Promise<CallToolResult>,
): void {
  const target = mcp as unknown as Record<string, unknown>;
  if (typeof target[SDK_TASK_POLLING_MEMBER] !== 'function') {
    throw new Error(`The MCP SDK's McpServer has no ${SDK_TASK_POLLING_MEMBER} method any more: plain calls to task tools would lose cancellation and progress. Pin @modelcontextprotocol/sdk to the version in server/package.json or adapt server/src/mcp/tasks.ts.`);
  }
  const replacement = (_tool: unknown, request: { params: { name: string; arguments?: unknown } }, extra: unknown): Promise<CallToolResult> =>
    direct(request.params.name, request.params.arguments, extra);
  target[SDK_TASK_POLLING_MEMBER] = replacement;
}
