/**
 * Background jobs: start_job / poll_job / cancel_job. A job runs a chat tool detached
 * from the MCP request, with its own AbortController. Its background response id is
 * stored before polling starts; after a restart, poll_job resumes polling that response
 * instead of losing the answer (KI-06). At shutdown jobs are handed off, not cancelled:
 * their rows stay 'running' and the next server process picks them up.
 */
import type { App } from '../app.ts';
import { ErrorCode, SbError, isSbError, toSbError } from '../errors.ts';
import { chatArgsSchema } from './args.ts';
import { runChatCall, type ChatCallOutcome, type ChatCallResult } from './chat-call.ts';
import type { JobRow } from '../state/jobs.ts';

export interface JobView {
  job_id: string;
  tool: string;
  status: JobRow['status'];
  progress?: string;
  result?: unknown;
  error?: { code?: string; message: string };
  created_at: string;
  updated_at: string;
}

/** Formats a zod error into one line naming each parameter and what it accepts. */
export function describeArgsError(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  return issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

export class JobRunner {
  readonly #app: App;
  readonly #rootsFor: (signal: AbortSignal) => Promise<string[]>;
  readonly #running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(app: App, rootsFor: (signal: AbortSignal) => Promise<string[]>) {
    this.#app = app;
    this.#rootsFor = rootsFor;
  }

  get runningCount(): number { return this.#running.size; }

  /** Validates the tool and its arguments, stores the job and starts it. */
  start(tool: string, rawArgs: Record<string, unknown>): JobView {
    if (this.#app.lifetime.signal.aborted) throw new SbError(ErrorCode.SHUTTING_DOWN, 'Failed to start the job: the server is shutting down. Try again in a moment.');
    const model = this.#app.modelByTool(tool);
    if (!model) {
      const names = [...this.#app.config.catalogue.values()].map((m) => m.tool).join(', ');
      throw new SbError(ErrorCode.INVALID_ARGUMENT, `tool: "${tool}" cannot run as a job. Use one of: ${names}.`);
    }
    const parsed = chatArgsSchema.safeParse(rawArgs);
    if (!parsed.success) throw new SbError(ErrorCode.INVALID_ARGUMENT, `Invalid args for ${tool}: ${describeArgsError(parsed.error.issues)}`);
    this.#app.clients.get(model.provider); // missing key: fail now, not in the background
    const row = this.#app.jobs.create(tool, rawArgs);
    this.#launch(row, async (signal) => {
      const roots = await this.#rootsFor(signal);
      const call = this.#app.inflight.start(`job:${tool}`, { sessionId: parsed.data.session_id });
      try {
        return await runChatCall(this.#app, model, parsed.data, {
          signal, roots, call,
          progress: (m) => this.#app.jobs.setProgress(row.id, m),
          onBackgroundId: (id) => this.#app.jobs.setResponseId(row.id, id),
        });
      } finally {
        this.#app.inflight.end(call);
      }
    });
    return view(this.#app.jobs.get(row.id)!);
  }

  /** Current state; resumes a job whose owner is gone (restart) by polling its stored response. */
  poll(jobId: string): JobView {
    const row = this.#app.jobs.get(jobId);
    if (!row) throw new SbError(ErrorCode.JOB_NOT_FOUND, `Failed to find job ${jobId}. Jobs are kept for 7 days; start a new one with start_job.`);
    if (row.status === 'running' && !this.#running.has(jobId) && row.owner_instance !== this.#app.instanceId) this.#resume(row);
    return view(this.#app.jobs.get(jobId)!);
  }

  cancel(jobId: string): JobView {
    const row = this.#app.jobs.get(jobId);
    if (!row) throw new SbError(ErrorCode.JOB_NOT_FOUND, `Failed to find job ${jobId}.`);
    const local = this.#running.get(jobId);
    if (local) {
      local.controller.abort(new SbError(ErrorCode.CANCELLED, 'The job was cancelled.'));
    } else if (row.status === 'running') {
      if (row.response_id) void this.#app.openai.cancelUpstream(row.response_id);
      this.#app.jobs.finish(jobId, 'cancelled', undefined, { message: 'Cancelled.', code: ErrorCode.CANCELLED });
    }
    return view(this.#app.jobs.get(jobId)!);
  }

  /** Shutdown: stop local runners without finishing their rows, so another process resumes them. */
  async handOff(deadlineMs: number): Promise<void> {
    const reason = new SbError(ErrorCode.SHUTTING_DOWN, 'The server is shutting down; the job will resume on the next start.');
    for (const r of this.#running.values()) r.controller.abort(reason);
    const all = Promise.allSettled([...this.#running.values()].map((r) => r.done));
    await Promise.race([all, new Promise((r) => setTimeout(r, deadlineMs).unref())]);
  }

  #resume(row: JobRow): void {
    if (!this.#app.jobs.claim(row.id)) return;
    const model = this.#app.modelByTool(row.tool);
    const parsed = chatArgsSchema.safeParse(row.args);
    if (!model || !parsed.success) {
      this.#app.jobs.finish(row.id, 'failed', undefined, { message: 'The job could not be resumed: its tool or arguments are no longer valid.', code: ErrorCode.INVALID_ARGUMENT });
      return;
    }
    const args = parsed.data;
    if (row.response_id && model.provider === 'openai') {
      const responseId = row.response_id;
      this.#app.log.info({ job: row.id, response_id: responseId }, 'resuming a background response after restart');
      this.#launch(row, async (signal) => {
        const call = this.#app.inflight.start(`job:${row.tool}`, { sessionId: args.session_id });
        try {
          const started = Date.now();
          const deadline = started + model.timeout_s * 1000;
          const r = await this.#app.openai.poll({ id: responseId }, {
            signal, deadline, progress: (m) => this.#app.jobs.setProgress(row.id, m),
            setPhase: (p) => this.#app.inflight.setPhase(call, p),
          });
          const { responseText } = await import('../providers/openai-responses.ts');
          const text = responseText(r);
          this.#app.sessions.recordTurn(args.session_id, model.id, args.instructions, text, r.id);
          const out: ChatCallResult = {
            text, model: r.model ?? model.api_model, model_id: model.id, session_id: args.session_id, response_id: r.id,
            ...(r.usage ? { usage: { input_tokens: r.usage.input_tokens, output_tokens: r.usage.output_tokens } } : {}),
            notes: ['This answer was recovered after a server restart.'], elapsed_ms: Date.now() - started,
          };
          return out;
        } finally {
          this.#app.inflight.end(call);
        }
      });
    } else {
      // Nothing upstream to resume: run the call again from its stored arguments.
      this.#app.log.info({ job: row.id }, 're-running a job interrupted before it reached the provider');
      this.#launch(row, async (signal) => {
        const roots = await this.#rootsFor(signal);
        const call = this.#app.inflight.start(`job:${row.tool}`, { sessionId: args.session_id });
        try {
          return await runChatCall(this.#app, model, args, {
            signal, roots, call, progress: (m) => this.#app.jobs.setProgress(row.id, m),
            onBackgroundId: (id) => this.#app.jobs.setResponseId(row.id, id),
          });
        } finally {
          this.#app.inflight.end(call);
        }
      });
    }
  }

  #launch(row: JobRow, work: (signal: AbortSignal) => Promise<ChatCallOutcome>): void {
    const controller = new AbortController();
    const done = (async () => {
      try {
        const result = await work(controller.signal);
        this.#app.jobs.finish(row.id, 'completed', result);
      } catch (err) {
        const e = toSbError(err);
        const reason = controller.signal.reason;
        if (isSbError(reason, ErrorCode.SHUTTING_DOWN)) return; // handed off: the row stays 'running'
        this.#app.jobs.finish(row.id, e.code === ErrorCode.CANCELLED ? 'cancelled' : 'failed', undefined, { message: e.message, code: e.code });
      } finally {
        this.#running.delete(row.id);
      }
    })();
    this.#running.set(row.id, { controller, done });
  }
}

function view(row: JobRow): JobView {
  return {
    job_id: row.id,
    tool: row.tool,
    status: row.status,
    ...(row.progress ? { progress: row.progress } : {}),
    ...(row.result !== undefined ? { result: row.result } : {}),
    ...(row.error ? { error: { code: row.error_code, message: row.error } } : {}),
    created_at: new Date(row.created_ms).toISOString(),
    updated_at: new Date(row.updated_ms).toISOString(),
  };
}
