import { sleep, untilAborted } from './sleep.ts';
import { FAKE_DEFAULTS } from './defaults.ts';

/**
 * Builds response bodies as streams of frames (one frame per SSE event, or one frame
 * for a JSON body) so that body faults — drip, truncation, a stall after the headers —
 * apply to the real bytes the handler produced, and so the end or abandonment of the
 * body is observed for the journal.
 */

export interface BodyShape {
  /** Gap between frames (SSE pacing). */
  frameIntervalMs?: number;
  drip?: { intervalMs: number; chunkBytes?: number };
  truncate?: { afterEvents?: number; afterBytes?: number; mode?: 'close' | 'error' };
  /** Send nothing at all until the client goes away. */
  stall?: boolean;
}

export type BodyOutcome = 'end' | 'abort' | 'truncated';

/**
 * Byte length of the untruncated body. A body cut with `mode: 'error'` announces this
 * length, so the client's HTTP parser sees the cut as an error even where the
 * transport cannot reset the connection (in-process interception ends the body
 * cleanly on a stream error).
 */
export function fullLength(frames: readonly string[]): number {
  return frames.reduce((n, f) => n + encoder.encode(f).byteLength, 0);
}

const encoder = new TextEncoder();

/** Serialises one SSE event; `event` is omitted for chat-completions style streams. */
export function sseFrame(data: unknown, event?: string): string {
  const json = typeof data === 'string' ? data : JSON.stringify(data);
  return event ? `event: ${event}\ndata: ${json}\n\n` : `data: ${json}\n\n`;
}

/**
 * A byte stream of `frames` shaped by `shape`. `onDone` runs exactly once: when the
 * body ended, was cut by a truncate fault, or was abandoned by the client.
 */
export function shapedBody(frames: readonly string[], shape: BodyShape, signal: AbortSignal, onDone: (outcome: BodyOutcome) => void): ReadableStream<Uint8Array> {
  let finished = false;
  const finish = (outcome: BodyOutcome) => {
    if (finished) return;
    finished = true;
    onDone(outcome);
  };
  const chunks = planChunks(frames, shape);
  const cutWithError = shape.truncate?.mode === 'error';
  const truncated = chunks.truncated;
  let index = 0;
  let first = true;

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (signal.aborted) {
          finish('abort');
          controller.close();
          return;
        }
        if (shape.stall) {
          if (first) {
            // An empty first chunk makes in-process interception flush the headers now.
            first = false;
            controller.enqueue(new Uint8Array(0));
            return;
          }
          await untilAborted(signal);
          finish('abort');
          // Closing after an abort is harmless; the reader is gone.
          controller.close();
          return;
        }
        if (index >= chunks.list.length) {
          if (truncated && cutWithError) {
            finish('truncated');
            controller.error(new Error('fake: connection reset mid-body'));
            return;
          }
          finish(truncated ? 'truncated' : 'end');
          controller.close();
          return;
        }
        const pause = first ? 0 : chunks.gapMs;
        first = false;
        if (pause > 0 && !(await sleep(pause, signal))) {
          finish('abort');
          controller.close();
          return;
        }
        controller.enqueue(chunks.list[index++]!);
      },
      cancel() {
        finish('abort');
      },
    },
    // Pull one chunk at a time so pacing reflects what the client actually read.
    { highWaterMark: 0 },
  );
}

function planChunks(frames: readonly string[], shape: BodyShape): { list: Uint8Array<ArrayBuffer>[]; truncated: boolean; gapMs: number } {
  let kept = [...frames];
  let truncated = false;
  if (shape.truncate?.afterEvents !== undefined && shape.truncate.afterEvents < kept.length) {
    kept = kept.slice(0, shape.truncate.afterEvents);
    truncated = true;
  }
  let bytes = kept.map((f) => encoder.encode(f));
  if (shape.truncate?.afterBytes !== undefined) {
    const total = bytes.reduce((n, b) => n + b.byteLength, 0);
    if (shape.truncate.afterBytes < total) {
      bytes = [concat(bytes).subarray(0, shape.truncate.afterBytes)];
      truncated = true;
    }
  }
  if (shape.drip) {
    const size = shape.drip.chunkBytes ?? FAKE_DEFAULTS.DRIP_CHUNK_BYTES;
    const all = concat(bytes);
    const list: Uint8Array<ArrayBuffer>[] = [];
    for (let i = 0; i < all.byteLength; i += size) list.push(all.subarray(i, i + size));
    return { list, truncated, gapMs: shape.drip.intervalMs };
  }
  return { list: bytes, truncated, gapMs: shape.frameIntervalMs ?? 0 };
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, b) => n + b.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
