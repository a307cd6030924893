-- Initial schema. Times are Unix milliseconds (UTC). Object ids are the 20
-- raw bytes of the git SHA-1; LFS oids are 64 lower-case hex characters.
--
-- users        accounts; name unique case-insensitively (lname)
-- tokens       access tokens, only the SHA-256 of the secret is kept
-- repos        repositories; (type, lname) unique, lname = lower("ns/name")
-- repo_redirects  old names of renamed repositories
-- objects      git objects per repository (commits, trees, regular blobs
--              and LFS pointer blobs), with size and parsed pointer
-- refs         branches, tags, PR refs; updated by compare-and-swap
-- repo_lfs     verified LFS objects a repository may reference
-- repo_meta    metadata derived from the default branch (cardData…)
-- repo_tags    tags of repo_meta, one row each, for filtering
-- secrets      server-wide keys shared by every replica

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    lname         TEXT NOT NULL UNIQUE,
    full_name     TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    is_admin      INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE repos (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT NOT NULL UNIQUE,
    type             TEXT NOT NULL,
    namespace        TEXT NOT NULL,
    name             TEXT NOT NULL,
    lname            TEXT NOT NULL,
    private          INTEGER NOT NULL DEFAULT 0,
    gated            TEXT NOT NULL DEFAULT '',
    default_branch   TEXT NOT NULL DEFAULT 'main',
    allow_force_push INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    downloads        INTEGER NOT NULL DEFAULT 0,
    likes            INTEGER NOT NULL DEFAULT 0,
    UNIQUE (type, lname)
);
CREATE INDEX repos_updated ON repos(type, updated_at, id);
CREATE INDEX repos_created ON repos(type, created_at, id);
CREATE INDEX repos_downloads ON repos(type, downloads, id);
CREATE INDEX repos_likes ON repos(type, likes, id);

CREATE TABLE repo_redirects (
    type    TEXT NOT NULL,
    lname   TEXT NOT NULL,
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    PRIMARY KEY (type, lname)
);

CREATE TABLE objects (
    repo_id  INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    oid      BLOB NOT NULL,
    kind     INTEGER NOT NULL,
    size     INTEGER NOT NULL,
    lfs_oid  TEXT,
    lfs_size INTEGER,
    data     BLOB NOT NULL,
    PRIMARY KEY (repo_id, oid)
) WITHOUT ROWID;

CREATE TABLE refs (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    target  BLOB NOT NULL,
    PRIMARY KEY (repo_id, name)
) WITHOUT ROWID;

CREATE TABLE repo_lfs (
    repo_id    INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    oid        TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repo_id, oid)
) WITHOUT ROWID;
CREATE INDEX repo_lfs_oid ON repo_lfs(oid);

CREATE TABLE repo_meta (
    repo_id        INTEGER PRIMARY KEY REFERENCES repos(id) ON DELETE CASCADE,
    sha            BLOB NOT NULL,
    card_data      TEXT,
    card_error     TEXT NOT NULL DEFAULT '',
    pipeline_tag   TEXT NOT NULL DEFAULT '',
    library_name   TEXT NOT NULL DEFAULT '',
    num_parameters INTEGER NOT NULL DEFAULT 0,
    info           TEXT
);
CREATE INDEX repo_meta_pipeline ON repo_meta(pipeline_tag);

CREATE TABLE repo_tags (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (repo_id, tag)
) WITHOUT ROWID;
CREATE INDEX repo_tags_tag ON repo_tags(tag, repo_id);

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
