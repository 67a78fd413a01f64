/**
 * A second server process for the cross-process tests: it attaches files with its own
 * state connection and SDK client against a loopback fake, then reports over IPC. Run
 * with `fork()`; argv[2] is a JSON `ChildAttachArgs`.
 */
import OpenAI from 'openai';
import { openDatabase } from '../../src/state/db.ts';
import { createLogger, setLogger } from '../../src/logging/logger.ts';
import { VectorStoreManager } from '../../src/vector/manager.ts';
import type { AttachFile, VectorLimits } from '../../src/vector/types.ts';

export interface ChildAttachArgs {
  dbPath: string;
  baseURL: string;
  instanceId: string;
  sessionId: string;
  files: AttachFile[];
  limits?: Partial<VectorLimits>;
  /** Wait for a 'go' message before starting, so two processes start together. */
  waitForGo?: boolean;
}

setLogger(createLogger({ level: process.env.SECOND_BRAIN_LOG_LEVEL ?? 'warn' }));
const args = JSON.parse(process.argv[2] ?? '{}') as ChildAttachArgs;
const send = (msg: unknown) => process.send?.(msg);

async function main(): Promise<void> {
  const db = openDatabase(args.dbPath);
  const client = new OpenAI({ apiKey: 'sk-test-child', baseURL: args.baseURL, maxRetries: 0 });
  const manager = new VectorStoreManager({ client, db, instanceId: args.instanceId, serverName: 'second-brain', limits: args.limits });
  if (args.waitForGo) {
    send({ type: 'ready', pid: process.pid });
    await new Promise<void>((resolve) => process.once('message', () => resolve()));
  }
  let uploads = 0;
  const result = await manager.attachFiles({
    sessionId: args.sessionId,
    files: args.files,
    signal: AbortSignal.timeout(60_000),
    onProgress: (_d, _t, message) => {
      if (message.startsWith('uploaded')) send({ type: 'progress', uploads: ++uploads });
    },
  });
  send({ type: 'done', result });
  db.close();
}

main().then(
  () => process.disconnect?.(),
  (err: Error) => {
    send({ type: 'error', message: err.message, code: (err as { code?: string }).code });
    process.exitCode = 1;
    process.disconnect?.();
  },
);
