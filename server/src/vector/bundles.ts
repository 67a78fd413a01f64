/**
 * Overflow bundles: many small overflow files packed into a few documents, so the number of
 * uploads follows the overflow's bytes, not its file count (50,000 tiny files are one or two
 * uploads rather than 50,000).
 *
 * - Framing: each member is wrapped in `===== BEGIN FILE <path> =====` / `===== END FILE =====`
 *   lines, so a file_search excerpt names the file it came from.
 * - Identity: a bundle's dedup path is `second-brain-bundles/<first member>~<hash of the member
 *   paths>.bundle.txt` and its sha256 the hash of the framed text, i.e. of its members' paths
 *   and contents. The same files give the same bundle, found in the upload table and never
 *   uploaded twice (KI-14), across queries, sessions and processes. Members are recorded
 *   (vs_bundle_members), so a follow-up in the same session bundles only what the store's
 *   bundles lack, and a bundle with a changed or deleted member is replaced (manager.ts).
 * - Cut points are chosen by content (a hash of the path), not only by size: a bundle ends
 *   once it holds at least `minBytes` at the first file whose path hash is 0 mod 16, or
 *   before a file that would take it past `maxBytes`. A file that grows or shrinks then
 *   moves at most the cut point next to it, instead of re-bundling (and re-uploading)
 *   everything after it, as a plain greedy packer would. Hand-written: this is a few lines
 *   of content-defined chunking over a sorted list, not something a library packages.
 * - Memory: a bundle's text is built when it is hashed and again when it is uploaded, one
 *   bundle at a time per upload slot; nothing is kept between the two.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ErrorCode, SbError, abortReasonToError, throwIfAborted } from '../errors.ts';
import type { AttachFile } from './types.ts';
import { DEFAULTS } from '../config/defaults.ts';

/** Upload-path prefix of bundles (never a project path: it has no root prefix and a fixed name). */
export const BUNDLE_PREFIX = 'second-brain-bundles/';

/** Ends a bundle's path; the upload's file name is the anchor's base name with it, e.g. `mod_1.ts.bundle.txt`. */
export const BUNDLE_SUFFIX = '.bundle.txt';

/** One cut in this many files (by path hash) once a bundle holds `minBytes`. */
const ANCHOR_MODULUS = 16;

export interface Bundle {
  /** The bundle's dedup path and upload name. */
  relPath: string;
  members: AttachFile[];
  /** Content bytes of the members (framing not included). */
  bytes: number;
}

export interface BundleLimits {
  /** A bundle never grows past this many content bytes, unless one file alone is larger. */
  maxBytes: number;
  /** A bundle is not cut before it holds this many bytes (except the last one). */
  minBytes: number;
}

/** Opening frame line of a member. */
export function memberHeader(relPath: string): string {
  return `===== BEGIN FILE ${relPath} =====\n`;
}

/**
 * Closing frame line of a member. It does not repeat the path: with tiny files the frame is
 * most of the bytes (a path costs about 30), and the header already names the file.
 */
export function memberFooter(): string {
  return '===== END FILE =====\n';
}

/** The path whose hash decides the cut points: FNV-1a, cheap and stable across runs. */
function pathHash(relPath: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < relPath.length; i++) {
    h ^= relPath.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function isBundlePath(relPath: string): boolean {
  return relPath.startsWith(BUNDLE_PREFIX) && relPath.endsWith(BUNDLE_SUFFIX);
}


/**
 * Groups `files` (any order) into bundles, members sorted by path.
 *
 * @example
 *   const bundles = planBundles(overflow, { maxBytes: 8_388_608, minBytes: 6_291_456 });
 */
export function planBundles(files: readonly AttachFile[], limits: BundleLimits): Bundle[] {
  if (!(limits.maxBytes > 0) || !(limits.minBytes > 0) || limits.minBytes > limits.maxBytes) {
    throw new SbError(ErrorCode.CONFIG, `Bundle limits need 0 < minBytes <= maxBytes; got ${limits.minBytes} and ${limits.maxBytes}.`);
  }
  // Overflow arrives in path order from the budget split; sorting 50,000 objects by string
  // again cost ~15 ms of loop time (KI-12), so only unsorted input is sorted.
  const byPath = (a: AttachFile, b: AttachFile) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0);
  const sorted = files.every((f, i) => i === 0 || files[i - 1]!.relPath <= f.relPath) ? files : [...files].sort(byPath);
  const out: Bundle[] = [];
  let members: AttachFile[] = [];
  let bytes = 0;
  const close = () => {
    if (members.length === 0) return;
    // The members' paths are in the name too: two bundles with the same first file but other
    // members (a follow-up bundling only what earlier bundles lack) never share a dedup key.
    const tag = createHash('sha256').update(members.map((m) => m.relPath).join('\0')).digest('hex').slice(0, 12);
    out.push({ relPath: `${BUNDLE_PREFIX}${members[0]!.relPath}~${tag}${BUNDLE_SUFFIX}`, members, bytes });
    members = [];
    bytes = 0;
  };
  for (const f of sorted) {
    if (members.length > 0 && (bytes + f.size > limits.maxBytes || (bytes >= limits.minBytes && pathHash(f.relPath) % ANCHOR_MODULUS === 0))) close();
    members.push(f);
    bytes += f.size;
  }
  close();
  return out;
}

async function memberBytes(f: AttachFile, signal: AbortSignal): Promise<Uint8Array> {
  if (f.bytes !== undefined) return f.bytes;
  if (f.text !== undefined) return Buffer.from(f.text, 'utf8');
  try {
    return await readFile(f.absPath, { signal });
  } catch (err) {
    if (signal.aborted) throw abortReasonToError(signal.reason);
    throw new SbError(ErrorCode.UPLOAD_FAILED, `Failed to read ${f.relPath} for its bundle: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The framed text of a bundle, as bytes. Members held in memory are used as they are; the
 * others are read from disk (with the signal). One turn of the loop every 256 members keeps
 * a bundle of tens of thousands of tiny files from holding the loop.
 */
export async function bundleContent(bundle: Bundle, signal: AbortSignal): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const newline = Buffer.from('\n');
  const FOOTER = Buffer.from(memberFooter(), 'utf8');
  for (let i = 0; i < bundle.members.length; i++) {
    if (i > 0 && i % 256 === 0) {
      await yieldToLoop();
      throwIfAborted(signal);
    }
    const m = bundle.members[i]!;
    const body = await memberBytes(m, signal);
    parts.push(Buffer.from(memberHeader(m.relPath), 'utf8'), body);
    if (body.length > 0 && body[body.length - 1] !== 0x0a) parts.push(newline);
    parts.push(FOOTER);
  }
  return concatInSlices(parts, signal);
}

/** Parts copied per turn of the loop, and bytes hashed per turn (KI-12). */
const PARTS_PER_TURN = 1_024;
const HASH_BYTES_PER_TURN = DEFAULTS.BUNDLE_HASH_BYTES_PER_TURN;

/**
 * `Buffer.concat`, with a turn of the loop every PARTS_PER_TURN parts: one concat of a
 * bundle's ~40,000 small parts held the loop for ~20 ms at 50,000 files (measured).
 */
async function concatInSlices(parts: readonly Uint8Array[], signal: AbortSignal): Promise<Buffer> {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    if (i > 0 && i % PARTS_PER_TURN === 0) {
      await yieldToLoop();
      throwIfAborted(signal);
    }
    out.set(parts[i]!, at);
    at += parts[i]!.length;
  }
  return out;
}

/** SHA-256 of `bytes`, a slice per turn of the loop. */
async function sha256InSlices(bytes: Uint8Array, signal: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for (let at = 0; at < bytes.length; at += HASH_BYTES_PER_TURN) {
    if (at > 0) {
      await yieldToLoop();
      throwIfAborted(signal);
    }
    h.update(bytes.subarray(at, at + HASH_BYTES_PER_TURN));
  }
  return h.digest('hex');
}

/**
 * Turns bundles into files for the vector-store manager: each one hashed now (its text is
 * built, hashed and dropped) and rebuilt by `load` at upload time.
 */
export async function bundlesAsAttachFiles(bundles: readonly Bundle[], signal: AbortSignal): Promise<AttachFile[]> {
  const out: AttachFile[] = [];
  for (const b of bundles) {
    const content = await bundleContent(b, signal);
    const sha256 = await sha256InSlices(content, signal);
    out.push({
      absPath: '', relPath: b.relPath, size: content.length, mtimeMs: 0, sha256,
      load: (s: AbortSignal) => bundleContent(b, s),
    });
    await yieldToLoop();
    throwIfAborted(signal);
  }
  return out;
}
