/**
 * SQLite bookkeeping for vector stores and uploaded files. This is the source of truth
 * shared by every server process that uses the same state dir (KI-13, KI-14): upload
 * claims live here as rows with a lease, never in in-memory maps, so two processes do
 * not upload the same file twice, and a process killed halfway leaves rows the janitor
 * can read.
 */
import { registerSchema } from '../state/db.ts';

export const VECTOR_SCHEMA_NAME = 'vector_stores';

registerSchema(VECTOR_SCHEMA_NAME, `
-- Every server process that ever used this state dir. Provider stores carry the
-- instance id in their metadata; a store is ours only when its instance is listed here.
CREATE TABLE IF NOT EXISTS vs_instances (
  instance_id  TEXT PRIMARY KEY,
  pid          INTEGER NOT NULL,
  host         TEXT NOT NULL,
  started_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
);

-- Stores this state dir created. kind is 'session' (one per MCP session).
-- completed = 1 once an attach finished: a store of a dead instance that never
-- completed is debris from an interrupted call (KI-13).
CREATE TABLE IF NOT EXISTS vs_stores (
  store_id     TEXT PRIMARY KEY,
  kind         TEXT NOT NULL,
  scope        TEXT NOT NULL,
  instance_id  TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  completed    INTEGER NOT NULL DEFAULT 0,
  state        TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX IF NOT EXISTS vs_stores_scope ON vs_stores(kind, scope, state);

-- Generic leases (store creation for a session). owner is an instance id.
CREATE TABLE IF NOT EXISTS vs_leases (
  lease_key  TEXT PRIMARY KEY,
  owner      TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);

-- Uploaded file objects, keyed by content and path (KI-14). state 'uploading' is a
-- claim: lease_owner uploads it, everyone else waits for 'ready' or the lease to lapse.
CREATE TABLE IF NOT EXISTS vs_files (
  sha256           TEXT NOT NULL,
  rel_path         TEXT NOT NULL,
  file_id          TEXT,
  state            TEXT NOT NULL,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  bytes            INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  PRIMARY KEY (sha256, rel_path)
);
CREATE UNIQUE INDEX IF NOT EXISTS vs_files_file_id ON vs_files(file_id) WHERE file_id IS NOT NULL;

-- What each store holds, one row per path. state: 'pending' | 'attached'.
-- A row references the vs_files row with the same (sha256, rel_path).
CREATE TABLE IF NOT EXISTS vs_store_files (
  store_id   TEXT NOT NULL,
  rel_path   TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  file_id    TEXT,
  abs_path   TEXT,
  state      TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (store_id, rel_path)
);
CREATE INDEX IF NOT EXISTS vs_store_files_key ON vs_store_files(sha256, rel_path);

-- Members of each overflow bundle (a bundle is a vs_files row whose rel_path starts with
-- second-brain-bundles/), keyed by the bundle's content hash: which project files, with
-- which content, a bundle in a store already carries (so a follow-up does not upload them
-- again), and where they live on disk (a member whose file is gone makes the bundle stale).
CREATE TABLE IF NOT EXISTS vs_bundle_members (
  bundle_sha  TEXT NOT NULL,
  member_path TEXT NOT NULL,
  member_sha  TEXT NOT NULL,
  abs_path    TEXT NOT NULL,
  PRIMARY KEY (bundle_sha, member_path)
);

-- One row per upload request whose outcome is not known yet. A row left behind
-- (process killed, request aborted or timed out) may match a file object the provider
-- created without us learning its id; the janitor finds and deletes it.
CREATE TABLE IF NOT EXISTS vs_upload_journal (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  owner      TEXT NOT NULL,
  sha256     TEXT NOT NULL,
  rel_path   TEXT NOT NULL,
  filename   TEXT NOT NULL,
  bytes      INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  state      TEXT NOT NULL
);

-- Deletes still owed upstream (KI-02): retried by the janitor with backoff.
-- kind: 'store_file' (detach target_id from store_id) | 'store' | 'file'.
CREATE TABLE IF NOT EXISTS vs_pending_deletes (
  kind            TEXT NOT NULL,
  target_id       TEXT NOT NULL,
  store_id        TEXT NOT NULL DEFAULT '',
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (kind, target_id, store_id)
);

-- sha256 of files by path, size and mtime, so unchanged files are not read again.
CREATE TABLE IF NOT EXISTS vs_hash_cache (
  abs_path TEXT PRIMARY KEY,
  size     INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  sha256   TEXT NOT NULL
);
`);
