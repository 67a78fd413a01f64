/**
 * Anchor: the same upstream call second-brain's `chat_with_gpt41` makes, straight through
 * the `openai` SDK (one `responses.create`, no retries), from the benchmark process.
 */
import OpenAI from 'openai';

export function directSdkCaller(baseURL: string): (input: string, signal: AbortSignal) => Promise<string> {
  const client = new OpenAI({ apiKey: 'sk-bench', baseURL, maxRetries: 0 });
  return async (input, signal) => {
    const r = await client.responses.create({ model: 'gpt-4.1', input }, { signal });
    return r.output_text;
  };
}
