/**
 * The wrapper every tool handler runs in: the MCP server span (parented by the client's
 * `_meta.traceparent`), the in-flight registry, progress, and the mapping of errors to
 * `isError` results with an actionable message and a stable code.
 */
import { addAbortListener } from 'node:events';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../app.ts';
import { ErrorCode, isAbortError, toSbError } from '../errors.ts';
import { storageError } from '../state/db.ts';
import { DEFAULTS } from '../config/defaults.ts';
import type { InflightCall } from '../runtime/inflight.ts';
import {
  ATTR_GEN_AI_OPERATION_NAME, ATTR_GEN_AI_TOOL_NAME, ATTR_JSONRPC_REQUEST_ID, ATTR_MCP_METHOD_NAME,
  ATTR_MCP_PROTOCOL_VERSION, ATTR_MCP_SESSION_ID, ATTR_NETWORK_TRANSPORT, ATTR_ERROR_TYPE, GEN_AI_OPERATION,
} from '../telemetry/semconv.ts';
import { SpanKind, contextFromMeta, markCancelled, recordError, withSpan, type Span } from '../telemetry/spans.ts';
import { createProgress } from './progress.ts';
import { redactDeep, redactString } from '../logging/redact.ts';

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ToolCallContext {
  signal: AbortSignal;
  call: InflightCall;
  progress: (message: string) => void;
  span: Span;
  extra: Extra;
}

export interface ToolCallHooks {
  /** Called when a tool call ends (metrics). */
  onToolEnd?: (tool: string, seconds: number, errorType: string | undefined) => void;
}

export interface TransportInfo { transport: 'pipe' | 'tcp'; sessionId: string; protocolVersion: () => string | undefined }

export function errorResult(err: unknown): CallToolResult {
  const e = toSbError(err);
  // The last sink before the client: whatever an error picked up on the way is redacted here.
  const message = redactString(e.message);
  const text = `${message} [${e.code}]`;
  return {
    isError: true,
    content: [{ type: 'text', text }],
    structuredContent: {
      error: {
        code: e.code, message,
        ...(e.provider ? { provider: e.provider } : {}),
        ...(e.retryAfterMs !== undefined ? { retry_after_ms: e.retryAfterMs } : {}),
        ...(e.details ? { details: redactDeep(e.details) } : {}),
      },
    },
  };
}

export async function runTool(
  app: App, hooks: ToolCallHooks, info: TransportInfo, tool: string, extra: Extra,
  body: (ctx: ToolCallContext) => Promise<CallToolResult>,
): Promise<CallToolResult> {
  const started = performance.now();
  const call = app.inflight.start(tool, { requestId: extra.requestId });
  const meta = extra._meta;
  // Test-only defect switch (KI-06): the call reports no progress at all.
  const token = app.config.testDefects.has('no-progress-heartbeat') ? undefined : meta?.progressToken;
  const progress = createProgress(token, { sendNotification: (n) => extra.sendNotification(n) }, undefined, DEFAULTS.PROGRESS_INTERVAL_MS * app.config.timeScale);
  // KI-03/KI-04: once the client cancelled, its progress token is dead. Work still winding
  // down must not report on it (the client treats that as a protocol error).
  const stopProgress = () => progress.stop();
  const detachProgress = addAbortListener(extra.signal, stopProgress);
  let errorType: string | undefined;
  try {
    return await withSpan(`tools/call ${tool}`, {
      kind: SpanKind.SERVER,
      parent: contextFromMeta(meta),
      attributes: {
        [ATTR_MCP_METHOD_NAME]: 'tools/call',
        [ATTR_GEN_AI_TOOL_NAME]: tool,
        [ATTR_GEN_AI_OPERATION_NAME]: GEN_AI_OPERATION.EXECUTE_TOOL,
        [ATTR_JSONRPC_REQUEST_ID]: String(extra.requestId),
        [ATTR_MCP_SESSION_ID]: extra.sessionId ?? info.sessionId,
        [ATTR_NETWORK_TRANSPORT]: info.transport,
        ...(info.protocolVersion() ? { [ATTR_MCP_PROTOCOL_VERSION]: info.protocolVersion()! } : {}),
      },
    }, async (span) => {
      try {
        const result = await body({ signal: extra.signal, call, progress: (m) => progress.report(m), span, extra });
        if (result.isError) {
          const code = (result.structuredContent as { error?: { code?: string } } | undefined)?.error?.code;
          errorType = code ?? 'tool_error';
          span.setAttribute(ATTR_ERROR_TYPE, errorType);
          if (code === ErrorCode.CANCELLED) markCancelled(span, 'client_cancel');
        }
        return result;
      } catch (caught) {
        // A full, read-only or damaged state file names the file and what to do (not SB_ERR_INTERNAL).
        const err = storageError(app.db, caught);
        recordError(span, err);
        errorType = toSbError(err).code;
        if (isAbortError(err) || extra.signal.aborted) markCancelled(span, 'client_cancel');
        const level = toSbError(err).code === ErrorCode.INTERNAL ? 'error' : 'info';
        app.log[level]({ tool, code: errorType, err: toSbError(err).message }, `tool ${tool} failed`);
        return errorResult(err);
      }
    });
  } finally {
    detachProgress[Symbol.dispose]();
    progress.stop();
    app.inflight.end(call);
    // Test-only defect switch (KI-04): cleanup of a cancelled call that fails after the
    // request was answered, into a promise nobody awaits.
    if (extra.signal.aborted && app.config.testDefects.has('throw-after-cancel')) {
      void Promise.reject(new Error(`Cannot finish ${tool} request ${String(extra.requestId)}: it was already answered (cancelled).`));
    }
    hooks.onToolEnd?.(tool, (performance.now() - started) / 1000, errorType);
  }
}
