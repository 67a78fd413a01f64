/**
 * An append-only JSON-lines writer for the local telemetry files: asynchronous, bounded
 * and rotated by size.
 *
 * - Never blocks the event loop (KI-21): writes go through fs.promises, one at a time,
 *   so at most one libuv pool thread is ever busy here, leaving the rest of the pool to
 *   file reads (KI-12).
 * - Bounded: lines wait in a buffer of at most `maxBufferBytes`; past it, `write` refuses
 *   the line and the caller counts the drop. A slow or full disk costs dropped telemetry,
 *   never memory or latency.
 * - Rotated: a file is closed once it would pass `maxFileBytes`, and the least recently
 *   written `<prefix>-*.jsonl` files beyond `maxFiles` are deleted, so the directory holds at
 *   most about maxFiles × maxFileBytes per prefix. Sorting by mtime (not name) keeps another
 *   server process's active file safe when several processes share the directory.
 */
import { mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULTS } from '../config/defaults.ts';

export interface RotatingJsonlWriterOptions {
  dir: string;
  /** File name prefix: files are `<prefix>-<epoch ms>-<pid>-<seq, 6 digits>.jsonl`. */
  prefix: string;
  maxFileBytes: number;
  maxFiles: number;
  maxBufferBytes: number;
  /** Called (not thrown) when the file system fails; the lines involved are dropped and counted. */
  onError?: (err: Error) => void;
}

const WRITE_CHUNK_BYTES = DEFAULTS.TRACE_FILE_WRITE_CHUNK_BYTES;
const NEWLINE = Buffer.from('\n');

export class RotatingJsonlWriter {
  readonly #o: RotatingJsonlWriterOptions;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #pumping: Promise<void> | undefined;
  #fh: FileHandle | undefined;
  #path: string | undefined;
  #size = 0;
  #seq = 0;
  #closed = false;
  /** Lines refused (buffer full, closed) or lost to a file-system error. */
  droppedLines = 0;
  writtenBytes = 0;

  constructor(options: RotatingJsonlWriterOptions) {
    this.#o = options;
  }

  /** Bytes waiting to be written. */
  get bufferedBytes(): number { return this.#queuedBytes; }

  /**
   * Queues one record (a newline is appended). Returns false, and counts the drop, when the
   * buffer is full or the writer is closed. Never throws, never waits.
   */
  write(record: Uint8Array | string): boolean {
    if (this.#closed) { this.droppedLines++; return false; }
    const body = typeof record === 'string' ? Buffer.from(record) : Buffer.from(record.buffer, record.byteOffset, record.byteLength);
    const line = Buffer.concat([body, NEWLINE]);
    if (this.#queuedBytes + line.length > this.#o.maxBufferBytes) { this.droppedLines++; return false; }
    this.#queue.push(line);
    this.#queuedBytes += line.length;
    this.#pumping ??= this.#pump().finally(() => { this.#pumping = undefined; });
    return true;
  }

  /** Resolves once everything queued so far is written (or dropped on error). */
  async flush(): Promise<void> {
    while (this.#pumping) await this.#pumping;
  }

  /** Flushes, closes the file and refuses later writes. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    await this.#closeFile();
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const lines: Buffer[] = [];
      let bytes = 0;
      while (this.#queue.length > 0) {
        const next = this.#queue[0]!;
        const full = bytes + next.length > WRITE_CHUNK_BYTES || this.#size + bytes + next.length > this.#o.maxFileBytes;
        if (lines.length > 0 && full) break;
        lines.push(this.#queue.shift()!);
        bytes += next.length;
      }
      this.#queuedBytes -= bytes;
      try {
        if (this.#fh && this.#size > 0 && this.#size + bytes > this.#o.maxFileBytes) await this.#closeFile();
        if (!this.#fh) await this.#openFile();
        const data = lines.length === 1 ? lines[0]! : Buffer.concat(lines, bytes);
        let off = 0;
        while (off < data.length) {
          const { bytesWritten } = await this.#fh!.write(data, off, data.length - off);
          off += bytesWritten;
        }
        this.#size += bytes;
        this.writtenBytes += bytes;
      } catch (err) {
        this.droppedLines += lines.length;
        this.#o.onError?.(err as Error);
        // Start a fresh file next time: the handle may be the cause.
        await this.#closeFile().catch(() => {});
      }
    }
  }

  async #openFile(): Promise<void> {
    // Telemetry sits in the private state dir: 0700 / 0600 whatever the umask.
    await mkdir(this.#o.dir, { recursive: true, mode: 0o700 });
    const name = `${this.#o.prefix}-${Date.now()}-${process.pid}-${String(this.#seq++).padStart(6, '0')}.jsonl`;
    this.#path = join(this.#o.dir, name);
    this.#fh = await open(this.#path, 'a', 0o600);
    this.#size = 0;
    await this.#prune();
  }

  async #closeFile(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    this.#size = 0;
    if (fh) await fh.close();
  }

  async #prune(): Promise<void> {
    const prefix = `${this.#o.prefix}-`;
    const names = (await readdir(this.#o.dir)).filter((n) => n.startsWith(prefix) && n.endsWith('.jsonl'));
    if (names.length <= this.#o.maxFiles) return;
    const files: Array<{ path: string; name: string; mtimeMs: number }> = [];
    for (const name of names) {
      const path = join(this.#o.dir, name);
      if (path === this.#path) continue;
      try { files.push({ path, name, mtimeMs: (await stat(path)).mtimeMs }); } catch { /* deleted meanwhile */ }
    }
    // Names start with the creation time: they break mtime ties (coarse file-system clocks).
    files.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // The current file counts towards the bound.
    let excess = files.length + 1 - this.#o.maxFiles;
    for (const f of files) {
      if (excess <= 0) break;
      await unlink(f.path).catch(() => {});
      excess--;
    }
  }
}
