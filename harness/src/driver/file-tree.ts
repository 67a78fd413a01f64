import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createPrng } from '../fake/prng.ts';

/**
 * Generates a project tree to pass as `context`: N source files of chosen sizes spread
 * over a directory tree of chosen depth, plus a `.gitignore` and files it excludes (which
 * a correct server must not send), plus optional binaries. Contents are deterministic for
 * a seed, so two runs upload the same bytes (KI-14 needs that).
 */

export interface FileTreeSpec {
  /** Source files that count as context. */
  files: number;
  /** Bytes per file: a fixed size or a uniform range. Default 2 048. */
  sizeBytes?: number | { min: number; max: number };
  /** Directory levels below the root. Default 2. */
  depth?: number;
  /** Subdirectories per directory. Default 3. */
  fanout?: number;
  /** Files placed under an ignored `build/` directory and listed in `.gitignore`. Default 0. */
  ignoredFiles?: number;
  /** Extra `.gitignore` lines. */
  gitignore?: string[];
  /** Binary files (which a server should skip). Default 0. */
  binaryFiles?: number;
  /** Default 1. */
  seed?: number;
}

export interface FileTree {
  root: string;
  /** Paths relative to `root` of the files that count as context. */
  files: string[];
  /** Paths relative to `root` that `.gitignore` excludes. */
  ignored: string[];
  binaries: string[];
  totalBytes: number;
}

const WRITE_CONCURRENCY = 32;

const WORDS = ['request', 'signal', 'budget', 'store', 'upload', 'session', 'retry', 'limit', 'reply', 'context', 'token', 'batch', 'cancel', 'timer', 'queue'];

function sourceText(index: number, size: number, next: () => number): string {
  const lines = [`// file ${index}: generated for a chaos scenario`];
  let length = lines[0]!.length + 1;
  let n = 0;
  while (length < size) {
    const a = WORDS[Math.floor(next() * WORDS.length)]!;
    const b = WORDS[Math.floor(next() * WORDS.length)]!;
    const line = `export function ${a}_${b}_${index}_${n++}(x: number): number { return x * ${Math.floor(next() * 1000)}; }`;
    lines.push(line);
    length += line.length + 1;
  }
  return `${lines.join('\n')}\n`.slice(0, Math.max(size, 1));
}

function directories(depth: number, fanout: number): string[] {
  const out = [''];
  let level = [''];
  for (let d = 0; d < depth; d++) {
    const nextLevel: string[] = [];
    for (const parent of level) for (let i = 0; i < fanout; i++) nextLevel.push(join(parent, `d${d}_${i}`));
    out.push(...nextLevel);
    level = nextLevel;
  }
  return out;
}

async function writeAll(root: string, entries: Array<[string, string | Buffer]>): Promise<void> {
  const made = new Set<string>();
  for (const [rel] of entries) {
    const dir = dirname(join(root, rel));
    if (!made.has(dir)) {
      made.add(dir);
      await mkdir(dir, { recursive: true });
    }
  }
  for (let i = 0; i < entries.length; i += WRITE_CONCURRENCY) {
    await Promise.all(entries.slice(i, i + WRITE_CONCURRENCY).map(([rel, body]) => writeFile(join(root, rel), body)));
  }
}

/**
 * Writes the tree under `root` (created if missing).
 *
 * @example
 * const tree = await generateFileTree(join(tmp, 'project'), { files: 90, sizeBytes: { min: 1_000, max: 20_000 }, depth: 3, ignoredFiles: 5 });
 */
export async function generateFileTree(root: string, spec: FileTreeSpec): Promise<FileTree> {
  if (!Number.isInteger(spec.files) || spec.files < 0) throw new RangeError(`tree.files must be a whole number >= 0, got ${spec.files}`);
  const rng = createPrng(spec.seed ?? 1);
  const next = () => rng.next();
  const size = spec.sizeBytes ?? 2_048;
  const pickSize = () => (typeof size === 'number' ? size : Math.round(size.min + next() * Math.max(0, size.max - size.min)));
  const dirs = directories(spec.depth ?? 2, spec.fanout ?? 3);
  const entries: Array<[string, string | Buffer]> = [];
  const files: string[] = [];
  let totalBytes = 0;
  for (let i = 0; i < spec.files; i++) {
    const rel = join(dirs[i % dirs.length]!, `mod_${i}.ts`);
    const text = sourceText(i, pickSize(), next);
    totalBytes += Buffer.byteLength(text);
    entries.push([rel, text]);
    files.push(rel);
  }
  const ignored: string[] = [];
  for (let i = 0; i < (spec.ignoredFiles ?? 0); i++) {
    const rel = join('build', `out_${i}.js`);
    entries.push([rel, sourceText(10_000 + i, 512, next)]);
    ignored.push(rel);
  }
  const binaries: string[] = [];
  for (let i = 0; i < (spec.binaryFiles ?? 0); i++) {
    const rel = join('assets', `blob_${i}.bin`);
    const bytes = Buffer.alloc(1_024);
    for (let b = 0; b < bytes.length; b++) bytes[b] = Math.floor(next() * 256);
    bytes[0] = 0; // a NUL byte marks it as binary for any sniffing heuristic
    entries.push([rel, bytes]);
    binaries.push(rel);
  }
  const gitignore = [...(ignored.length ? ['build/'] : []), ...(spec.gitignore ?? [])];
  if (gitignore.length) entries.push(['.gitignore', `${gitignore.join('\n')}\n`]);
  await mkdir(root, { recursive: true });
  await writeAll(root, entries);
  return { root, files, ignored, binaries, totalBytes };
}
