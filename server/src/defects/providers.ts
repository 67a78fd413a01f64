/**
 * `xai-ignores-signal`, `gemini-ignores-signal` (KI-05): a Chat Completions sender for
 * the adapter's seam (ChatCompletionsDeps.send) that drops the abort signal, as the
 * first xAI adapter did; defects/seams.ts passes it when the provider's switch is on.
 */
import type { SendCompletion } from '../providers/chat-completions.ts';

export function signalDropping(send: SendCompletion): SendCompletion {
  return (client, params) => send(client, params, {});
}
