/**
 * A message-size bound in front of the MCP SDK's stdio transport.
 *
 * The SDK's `ReadBuffer` throws once its buffer passes `maxBufferSize` (10 MiB by default)
 * and the transport then closes itself: the process stays alive, reads nothing more and
 * answers nothing, so the client waits until it gives up. This stream sits between stdin
 * and the transport and hands it whole lines only. A line longer than the limit is dropped
 * as it streams (memory stays at the limit, not the message size), and `onOversized` is told
 * its size and whatever JSON-RPC id could be recovered, so the request can be answered with
 * an error while the server goes on serving.
 *
 * Hand-written: no library parses the id out of a truncated JSON-RPC message, and the
 * SDK offers no hook between reading and parsing.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { DEFAULTS } from '../config/defaults.ts';

const EDGE_BYTES = DEFAULTS.STDIO_LOG_EDGE_BYTES;

export interface OversizedMessage {
  /** Bytes of the dropped line (without its newline). */
  bytes: number;
  /** The request id, when it could be read from the line's first or last bytes; else undefined. */
  id?: string | number;
}

export interface MessageLimitOptions {
  maxMessageBytes: number;
  onOversized: (message: OversizedMessage) => void;
}

const ID_AT_END = /"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,16})\s*\}\s*\r?$/;
const ID_AT_START = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,16})\s*,/;

/**
 * The id of a JSON-RPC message from its first and last bytes: the SDK's client writes
 * `{"method":…,"params":…,"jsonrpc":"2.0","id":N}` (id last), others put it first. Only a
 * top-level id is taken: at the very end before the closing brace, or the first member.
 */
export function recoverId(head: string, tail: string): string | number | undefined {
  const m = ID_AT_END.exec(tail) ?? ID_AT_START.exec(head);
  if (!m) return undefined;
  try {
    const v = JSON.parse(m[1]!) as unknown;
    return typeof v === 'string' || typeof v === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Returns a Transform that passes complete lines of at most `maxMessageBytes` and drops
 * longer ones, reporting each. Held bytes never exceed the limit plus one chunk.
 *
 * @example
 *   const input = process.stdin.pipe(limitMessageSize({ maxMessageBytes: 10_485_760, onOversized }));
 *   const transport = new StdioServerTransport(input, process.stdout, { maxBufferSize: 2 * 10_485_760 });
 */
export function limitMessageSize(options: MessageLimitOptions): Transform {
  const { maxMessageBytes, onOversized } = options;
  let held: Buffer[] = [];
  let heldBytes = 0;
  let dropping = false;
  let droppedBytes = 0;
  let head = '';
  let tail = Buffer.alloc(0);

  const startDropping = () => {
    dropping = true;
    droppedBytes = heldBytes;
    head = Buffer.concat(held).subarray(0, EDGE_BYTES).toString('utf8');
    tail = Buffer.concat(held.slice(-2)).subarray(-EDGE_BYTES);
    held = [];
    heldBytes = 0;
  };

  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      let at = 0;
      while (at < chunk.length) {
        const nl = chunk.indexOf(0x0a, at);
        const end = nl === -1 ? chunk.length : nl;
        const piece = chunk.subarray(at, end);
        if (dropping) {
          droppedBytes += piece.length;
          tail = Buffer.concat([tail, piece]).subarray(-EDGE_BYTES);
        } else {
          held.push(piece);
          heldBytes += piece.length;
          if (heldBytes > maxMessageBytes) startDropping();
        }
        if (nl === -1) break;
        if (dropping) {
          const bytes = droppedBytes;
          const id = recoverId(head, tail.toString('utf8'));
          dropping = false;
          droppedBytes = 0;
          head = '';
          tail = Buffer.alloc(0);
          try { onOversized(id === undefined ? { bytes } : { bytes, id }); } catch { /* a reporting failure must not stop the input */ }
        } else {
          for (const h of held) this.push(h);
          this.push(Buffer.from('\n'));
          held = [];
          heldBytes = 0;
        }
        at = nl + 1;
      }
      done();
    },
    flush(done: TransformCallback) {
      if (!dropping) for (const h of held) this.push(h);
      done();
    },
  });
}
