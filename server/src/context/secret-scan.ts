/**
 * Screens gathered files before anything is counted or sent: credential files found by
 * content are left out (skip reason `secret-content`), credential-shaped strings in the
 * rest are replaced by `[redacted]`, and the caller gets the list of redactions for the
 * context report. Small sets are screened on the event loop (a millisecond or two); larger
 * ones on a worker thread, in batches, so a 100 MiB context never holds the loop.
 */
import { DEFAULTS } from '../config/defaults.ts';
import { throwIfAborted } from '../errors.ts';
import { fileContent, makeFile } from './content.ts';
import type { GatherContext } from './gather-context.ts';
import { type Redaction, screenText } from './secrets.ts';
import type { ScanJob, ScanJobResult, ScanOutcome } from './secret-scan-worker.ts';
import { LazyWorkerPool } from './worker-pool.ts';
import type { GatheredFile } from './types.ts';

const SCAN_INLINE_MAX_BYTES = DEFAULTS.SECRET_SCAN_INLINE_MAX_BYTES;
const SCAN_JOB_BYTES = DEFAULTS.SECRET_SCAN_JOB_BYTES;
const SCAN_JOB_MAX_FILES = 2_048;

const pool = new LazyWorkerPool<ScanJob, ScanJobResult>(() => ({
  url: new URL('./secret-scan-worker.ts', import.meta.url),
  size: 1,
  queueMax: DEFAULTS.CONTEXT_WORKER_QUEUE_MAX,
  purpose: 'screen context files for secrets',
}));

/** Terminates the screening thread; a later screen starts a fresh one. */
export async function closeSecretScanPool(): Promise<void> {
  await pool.close();
}

/**
 * Returns the files to keep (redacted where needed, in order) and the redactions made.
 * Files left out are recorded in `ctx` with reason `secret-content`.
 * @throws SbError SB_ERR_CANCELLED / SB_ERR_DEADLINE_EXCEEDED when `ctx.signal` fires.
 */
export async function screenFiles(ctx: GatherContext, files: readonly GatheredFile[]): Promise<{ files: GatheredFile[]; redactions: Redaction[] }> {
  // KI-03: a cancel during reading must not be followed by a whole screening pass.
  throwIfAborted(ctx.signal);
  const exclude = !ctx.limits.includeSecrets;
  const outcomes = new Map<number, ScanOutcome>();
  const contents = files.map(fileContent);
  const total = contents.reduce((n, c) => n + (typeof c === 'string' ? c.length * 3 : c.byteLength), 0);
  if (total <= SCAN_INLINE_MAX_BYTES) {
    files.forEach((f, index) => {
      const out = screenText(f.text ?? '');
      if (out.action === 'exclude' && exclude) outcomes.set(index, { index, action: 'exclude', kind: out.kind });
      else if (out.action === 'redact') outcomes.set(index, { index, ...out });
    });
  } else {
    const encoder = new TextEncoder();
    for (let start = 0; start < files.length; ) {
      throwIfAborted(ctx.signal);
      const lengths: number[] = [];
      const parts: Uint8Array[] = [];
      let bytes = 0;
      let end = start;
      for (; end < files.length && lengths.length < SCAN_JOB_MAX_FILES && (bytes < SCAN_JOB_BYTES || end === start); end++) {
        const c = contents[end]!;
        const b = typeof c === 'string' ? encoder.encode(c) : c;
        parts.push(b);
        lengths.push(b.byteLength);
        bytes += b.byteLength;
      }
      // A copy: file bytes are views on the reader's shared blocks, which must stay usable here.
      const blob = new Uint8Array(bytes);
      let at = 0;
      for (const p of parts) { blob.set(p, at); at += p.byteLength; }
      const r = await pool.get().run({ lengths, blob: blob.buffer, exclude }, ctx.signal, [blob.buffer]);
      for (const o of r.outcomes) outcomes.set(start + o.index, { ...o, index: start + o.index });
      start = end;
      ctx.progress(start, files.length, `Screening files for secrets: ${start}/${files.length}`);
    }
  }
  if (outcomes.size === 0) return { files: [...files], redactions: [] };
  const kept: GatheredFile[] = [];
  const redactions: Redaction[] = [];
  files.forEach((f, index) => {
    const o = outcomes.get(index);
    if (!o) { kept.push(f); return; }
    if (o.action === 'exclude') { ctx.skip(f.relPath, 'secret-content'); return; }
    redactions.push({ path: f.relPath, count: o.count, labels: o.labels });
    // The on-disk size and mtime stay: they are how a follow-up tells the file has not changed.
    kept.push(makeFile({ absPath: f.absPath, relPath: f.relPath, size: f.size, mtimeMs: f.mtimeMs, priority: f.priority }, Buffer.from(o.text, 'utf8')));
  });
  return { files: kept, redactions };
}
