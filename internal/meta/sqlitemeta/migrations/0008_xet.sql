-- Xet storage: what the CAS knows of xorbs, files and chunks. Hashes are
-- Xet hashes in their text form (64 lowercase hex digits).
--
-- xet_xorbs       a xorb stored in the blob store's xorb key space: its
--                 serialized and raw sizes, chunk count, its chunk index
--                 (package xet's footer encoding), when it was stored and
--                 last named by a shard or a dedup answer (Unix ms)
-- xet_files       a file registered by a shard: its SHA-256 (computed by
--                 the server from the chunks, never the client's claim),
--                 size, layout (its terms with chunk positions: one read
--                 answers a reconstruction), provenance (the repository
--                 and user whose write token registered it first) and when
--                 a shard last registered it
-- xet_file_xorbs  which xorbs a file's terms name (garbage collection)
-- xet_dedup       global-dedup index: chunk -> xorb holding it, and the
--                 file it starts, if any
-- Which repositories may read a file is repo_lfs: a repository reads the
-- files whose SHA-256 it links, like any LFS object.

CREATE TABLE xet_xorbs (
    hash       TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    raw_size   INTEGER NOT NULL,
    chunks     INTEGER NOT NULL,
    idx        BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE xet_files (
    hash          TEXT PRIMARY KEY,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    layout        BLOB NOT NULL,
    repo_id       INTEGER NOT NULL DEFAULT 0,
    user_id       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    registered_at INTEGER NOT NULL
);
CREATE INDEX xet_files_sha256 ON xet_files(sha256, registered_at);

CREATE TABLE xet_file_xorbs (
    file_hash TEXT NOT NULL REFERENCES xet_files(hash) ON DELETE CASCADE,
    xorb_hash TEXT NOT NULL,
    PRIMARY KEY (file_hash, xorb_hash)
) WITHOUT ROWID;
CREATE INDEX xet_file_xorbs_xorb ON xet_file_xorbs(xorb_hash);

CREATE TABLE xet_dedup (
    chunk_hash TEXT PRIMARY KEY,
    xorb_hash  TEXT NOT NULL,
    file_hash  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX xet_dedup_xorb ON xet_dedup(xorb_hash);
