/**
 * Worker-thread entry of the context text pool: counts o200k tokens and hashes texts off the
 * event loop. The o200k tables take about a quarter of a second to load, so they are loaded
 * here, lazily, and never on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import type { WorkerReply, WorkerRequest } from './worker-pool.ts';

type Counter = (text: string) => number;

const cancel = new Int32Array(workerData.cancel as SharedArrayBuffer);
let counter: Promise<Counter> | undefined;

function loadCounter(): Promise<Counter> {
  counter ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => {
    // Text from files is data, not control: "<|endoftext|>" in a file is counted as the
    // plain characters it is, as the provider's API counts it in user content.
    const opts = { disallowedSpecial: new Set<string>() };
    return (text: string) => m.countTokens(text, opts);
  });
  return counter;
}

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  const count = req.count ? await loadCounter() : undefined;
  const tokens: number[] | undefined = req.count ? [] : undefined;
  const sha256: string[] | undefined = req.hash ? [] : undefined;
  for (const text of req.texts) {
    if (Atomics.load(cancel, 0) === req.id) return { id: req.id, ok: false, cancelled: true };
    if (tokens) tokens.push(text.length === 0 ? 0 : count!(text));
    if (sha256) sha256.push(createHash('sha256').update(text, 'utf8').digest('hex'));
  }
  return { id: req.id, ok: true, tokens, sha256 };
}

// Jobs arrive one at a time per worker; the chain only guards against overlap while the
// tokenizer module is still loading.
let chain: Promise<void> = Promise.resolve();
parentPort!.on('message', (req: WorkerRequest) => {
  chain = chain.then(async () => {
    let reply: WorkerReply;
    try {
      reply = await handle(req);
    } catch (err) {
      reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    parentPort!.postMessage(reply);
  });
});
