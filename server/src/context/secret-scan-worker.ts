/**
 * Worker-thread entry that screens file contents for secrets (`secrets.ts`): a few regex
 * passes per file, which on a 100 MiB context is seconds of CPU the event loop must not pay.
 * Only files that are excluded or changed come back; the rest cost one outcome-less slot.
 */
import { screenText, type SecretContentKind } from './secrets.ts';
import { serveJobs } from './worker-protocol.ts';

export interface ScanJob {
  /** Byte length of each file's slice of `blob`, in order. */
  lengths: number[];
  blob: ArrayBuffer;
  /** Leave out credential files by content (false when the caller asked for secrets). */
  exclude: boolean;
}

export type ScanOutcome =
  | { index: number; action: 'exclude'; kind: SecretContentKind }
  | { index: number; action: 'redact'; text: string; count: number; labels: string[] };

export interface ScanJobResult { outcomes: ScanOutcome[] }

const decoder = new TextDecoder('utf-8');

serveJobs<ScanJob, ScanJobResult>((job, ctx) => {
  const bytes = new Uint8Array(job.blob);
  const outcomes: ScanOutcome[] = [];
  let at = 0;
  for (let index = 0; index < job.lengths.length; index++) {
    if (ctx.pace()) break;
    const len = job.lengths[index]!;
    const out = screenText(decoder.decode(bytes.subarray(at, at + len)));
    at += len;
    if (out.action === 'exclude' && job.exclude) outcomes.push({ index, action: 'exclude', kind: out.kind });
    else if (out.action === 'redact') outcomes.push({ index, action: 'redact', text: out.text, count: out.count, labels: out.labels });
  }
  return { result: { outcomes } };
});
