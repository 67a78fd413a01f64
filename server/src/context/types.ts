/**
 * Types shared by the context engine's stages (paths → gather → tokens → budget → prompt).
 * The public ones are re-exported by name from `index.ts`.
 */

/** Which tokenizer a model's budget is measured with. */
export type TokenizerFamily = 'o200k' | 'estimate';

/** Progress callback: `done` of `total` units of the current phase, and a short human message. */
export type ProgressFn = (done: number, total: number, message: string) => void;

/** One text file found while gathering. */
export interface GatheredFile {
  /** Real absolute path (symlinks resolved). */
  absPath: string;
  /** Path shown to the model and the user: POSIX separators, relative to its root (prefixed with the root's name when there are several roots). */
  relPath: string;
  /** Size in bytes when it was read. */
  size: number;
  /** Modification time in ms since the epoch when it was read. */
  mtimeMs: number;
  /** True when the file was named by, or lies under, one of the priority paths. */
  priority: boolean;
  /**
   * UTF-8 decoded content (BOM dropped, invalid bytes as U+FFFD). On gathered files this is a
   * getter that decodes the bytes held off the JS heap on each access (bounded in total by the
   * MAX_TOTAL_BYTES cap); read it once per use, or pass the file to `countFileTokens`.
   */
  text?: string;
  /** Hex sha256 of `text` as UTF-8, once computed. */
  sha256?: string;
}

/** A gathered file with its token count (file content only, no delimiters). */
export interface TokenizedFile extends GatheredFile {
  tokens: number;
}

/** Why an entry was left out. Stable strings: the report shows them and callers may match on them. */
export type SkipReason =
  | 'secret'
  | 'secret-content'
  | 'vcs-internal'
  | 'binary'
  | 'too-large'
  | 'total-size-cap'
  | 'file-count-cap'
  | 'excluded-dir'
  | 'excluded-by-pattern'
  | 'symlink-loop'
  | 'symlink-outside-roots'
  | 'broken-symlink'
  | 'duplicate'
  | 'unreadable'
  | 'vanished'
  | 'too-many-open-files'
  | 'non-utf8-name'
  | 'special-file';

export interface SkippedEntry {
  /** Display path (relative, POSIX separators; directories end with `/`). */
  path: string;
  reason: SkipReason;
}
