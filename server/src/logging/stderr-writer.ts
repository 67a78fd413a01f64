/**
 * A bounded, never-blocking writer for stderr (KI-09, KI-10, KI-12).
 *
 * Why hand-written: pino's default destination (sonic-boom) writes synchronously to
 * fd 2 — a pipe nobody reads then blocks the event loop once its 64 KiB buffer fills.
 * An async fs.write instead parks a libuv pool thread on the full pipe, which starves
 * every file read (KI-12). So we reopen stderr through /proc/self/fd/2 with O_NONBLOCK
 * (a separate open file description, so fd 2's own mode is untouched), write
 * synchronously, and on EAGAIN keep the rest in a bounded buffer that drops the oldest
 * records — counted — when full. A retry timer is unref'd so it never keeps the process up.
 *
 * A socket cannot be reopened through /proc (Node's own child_process hands children a
 * socketpair for 'pipe'), so for sockets we write through a libuv stream (non-blocking,
 * no pool thread) and bound its queue by `writableLength`.
 */
import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';

export interface StderrWriterOptions {
  /** Bytes buffered while stderr is not accepting data; beyond this, records are dropped. */
  maxBufferBytes: number;
  /** Target fd when /proc/self/fd/N cannot be opened (non-Linux). Default 2. */
  fd?: number;
  /** Retry interval while the pipe is full. */
  retryIntervalMs?: number;
}

export class StderrWriter {
  readonly #maxBytes: number;
  readonly #retryMs: number;
  #fd: number;
  #ownsFd = false;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #socket: Socket | undefined;
  /** Records dropped because the buffer was full. */
  dropped = 0;
  /** Bytes successfully written. */
  written = 0;
  /** Most bytes held at once, waiting for stderr (never above the bound). */
  maxPendingBytes = 0;

  constructor(options: StderrWriterOptions) {
    this.#maxBytes = options.maxBufferBytes;
    this.#retryMs = options.retryIntervalMs ?? 50;
    const target = options.fd ?? 2;
    this.#fd = target;
    try {
      const st = fstatSync(target);
      if (st.isFIFO()) {
        this.#fd = openSync(`/proc/self/fd/${target}`, constants.O_WRONLY | constants.O_NONBLOCK);
        this.#ownsFd = true;
      } else if (st.isSocket()) {
        this.#socket = new Socket({ fd: target, readable: false, writable: true });
        this.#socket.on('error', () => { /* peer gone: later writes are dropped */ });
        this.#socket.unref();
      }
    } catch {
      // Not Linux, or fd not reopenable: fall back to the fd as is. Regular files and TTYs
      // do not block indefinitely.
      this.#fd = target;
    }
  }

  /** Queues one record (a full line). Never blocks; drops and counts when over the bound. */
  write(chunk: string | Buffer): boolean {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.#socket) {
      if (this.#socket.destroyed || this.#socket.writableLength + buf.length > this.#maxBytes) {
        this.dropped++;
        return false;
      }
      this.#socket.write(buf, (err) => { if (!err) this.written += buf.length; });
      this.maxPendingBytes = Math.max(this.maxPendingBytes, this.#socket.writableLength);
      return true;
    }
    if (this.#queue.length === 0 && this.#tryWrite(buf)) return true;
    if (this.#queuedBytes + buf.length > this.#maxBytes) {
      this.dropped++;
      return false;
    }
    this.#queue.push(buf);
    this.#queuedBytes += buf.length;
    this.maxPendingBytes = Math.max(this.maxPendingBytes, this.#queuedBytes);
    this.#schedule();
    return true;
  }

  /** Bytes waiting to be written. */
  get pendingBytes(): number { return this.#socket ? this.#socket.writableLength : this.#queuedBytes; }

  /** Attempts to write everything now (used at shutdown); returns true if the queue emptied. */
  flushSync(): boolean {
    if (this.#socket) return this.#socket.writableLength === 0;
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (!this.#tryWrite(head, true)) return false;
    }
    return true;
  }

  close(): void {
    this.flushSync();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#ownsFd) {
      try { closeSync(this.#fd); } catch { /* ignore */ }
      this.#ownsFd = false;
    }
  }

  // Writes `buf` (or the queue head when fromQueue) as far as the pipe accepts; keeps the remainder.
  #tryWrite(buf: Buffer, fromQueue = false): boolean {
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.#fd, buf, off, buf.length - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
        // EPIPE and friends: nobody will ever read this; drop silently but count.
        if (fromQueue) this.#shift();
        this.dropped++;
        return fromQueue;
      }
    }
    this.written += off;
    if (fromQueue) {
      if (off >= buf.length) { this.#shift(); return true; }
      this.#queue[0] = buf.subarray(off);
      this.#queuedBytes -= off;
      return false;
    }
    if (off >= buf.length) return true;
    // Partial write: the remainder must go first, ahead of anything queued later.
    const rest = buf.subarray(off);
    this.#queue.unshift(rest);
    this.#queuedBytes += rest.length;
    this.#schedule();
    return true;
  }

  #shift(): void {
    const b = this.#queue.shift();
    if (b) this.#queuedBytes -= b.length;
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.flushSync()) this.#schedule();
    }, this.#retryMs);
    this.#timer.unref();
  }
}
