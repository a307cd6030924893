-- Pull-through mirrors of other hubs (package mirror).
--
-- mirror_upstreams    an upstream hub (serve --upstream NAME=URL): its URL,
--                     namespace policy, service token sealed by package
--                     mirror (never stored in clear), and the end of the
--                     back-off every replica honours after a 429 (Unix ms)
-- mirror_repos        a repository whose objects and refs copy the upstream
--                     repository of the same type and id: what the upstream
--                     last said of its visibility, when its refs were last
--                     bound (synced_at), whether eviction spares it (pinned)
-- mirror_objects      LFS content fetched from an upstream, for the per
--                     upstream cache cap: size and last use (LRU order)
-- mirror_fills        the lease of an LFS object being fetched: one holder
--                     across replicas until expires_at; fence comes from
--                     mirror_fence and grows with each holder; wanted_at is
--                     when a reader on another replica last asked for chunks
-- mirror_fill_chunks  pieces of a fill staged in the blob store (named by
--                     their SHA-256) for those readers, under the fence of
--                     the holder that wrote them
-- mirror_fence        the one counter fences come from
--
-- Fills and their chunks are transient: a copy of the store leaves them out.

CREATE TABLE mirror_upstreams (
    name          TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    policy        TEXT NOT NULL,
    token         BYTEA,
    backoff_until BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE mirror_repos (
    repo_id          BIGINT PRIMARY KEY REFERENCES repos(id) ON DELETE CASCADE,
    upstream         TEXT NOT NULL,
    upstream_private INTEGER NOT NULL DEFAULT 0,
    upstream_gated   TEXT NOT NULL DEFAULT '',
    synced_at        BIGINT NOT NULL,
    pinned           INTEGER NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);
CREATE INDEX mirror_repos_upstream ON mirror_repos(upstream);

CREATE TABLE mirror_objects (
    upstream TEXT NOT NULL,
    oid      TEXT NOT NULL,
    size     BIGINT NOT NULL,
    used_at  BIGINT NOT NULL,
    PRIMARY KEY (upstream, oid)
);
CREATE INDEX mirror_objects_lru ON mirror_objects(upstream, used_at);
CREATE INDEX mirror_objects_oid ON mirror_objects(oid);

CREATE TABLE mirror_fills (
    oid        TEXT PRIMARY KEY,
    fence      BIGINT NOT NULL,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    wanted_at  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE mirror_fill_chunks (
    oid       TEXT NOT NULL,
    fence     BIGINT NOT NULL,
    idx       BIGINT NOT NULL,
    chunk_oid TEXT NOT NULL,
    size      BIGINT NOT NULL,
    PRIMARY KEY (oid, fence, idx)
);

CREATE TABLE mirror_fence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO mirror_fence (id, n) VALUES (1, 0);
