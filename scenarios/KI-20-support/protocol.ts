/**
 * Progress notifications and the order of messages on the wire.
 *
 * The SDK client handles a notification in a microtask but a response synchronously, so
 * when a progress notification and the response of the same request arrive in one read
 * of the pipe, the response is handled first and the progress is reported as "for an
 * unknown token" — which the harness counts as a protocol error although the server
 * wrote them in the right order. The same happens to progress the server sent before it
 * had read the client's cancel. `tolerateLateProgress` drops exactly that message from
 * the client's error hook (installed as a `run` step, for the current server process);
 * `expectNoProgressAfterReply` then checks the property that matters on the server's
 * own output: no progress for a request after the server's response to it.
 */
import type { StepContext } from '../../harness/src/runner/step-context.ts';

const LATE_PROGRESS = /progress notification for an unknown token/i;

/** Stops the current client from reporting progress that arrived after its request ended. */
export function tolerateLateProgress(ctx: StepContext): void {
  const client = ctx.driver.server.client;
  const inner = client.onerror;
  client.onerror = (error: Error) => {
    if (LATE_PROGRESS.test(String(error?.message ?? error))) return;
    inner?.(error);
  };
}

/** Fails when any server process wrote a progress notification for a request it had already answered. */
export function expectNoProgressAfterReply(ctx: StepContext): void {
  for (const server of ctx.driver.servers) {
    const answered = new Set<string>();
    for (const line of server.stdoutText().split('\n')) {
      if (!line.trim()) continue;
      let message: { id?: string | number; result?: unknown; error?: unknown; method?: string; params?: { progressToken?: string | number } };
      try {
        message = JSON.parse(line);
      } catch {
        continue;
      }
      if (message.id !== undefined && (message.result !== undefined || message.error !== undefined)) answered.add(String(message.id));
      const token = message.method === 'notifications/progress' ? message.params?.progressToken : undefined;
      if (token !== undefined && answered.has(String(token))) {
        throw new Error(`Server ${server.generation} sent progress for request ${String(token)} after answering it: ${line.slice(0, 200)}`);
      }
    }
  }
}
