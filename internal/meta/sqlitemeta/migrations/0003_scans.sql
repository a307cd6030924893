-- Security scans: results keyed by content (so the same bytes are never
-- scanned twice) and a queue of contents waiting to be scanned, shared by
-- every replica.
--
-- scans.key         "lfs:<sha256>" for LFS content, "git:<sha1>" for git blobs
-- scans.repo_id     a repository that holds the content (to read git blobs)
-- scans.version     scanner version that produced the result (rescans bump it)
-- scans.level       safe | suspicious | unsafe | unscanned | error
-- scan_queue.lease_until  0 when free, else when a worker's claim expires

CREATE TABLE scans (
    key        TEXT PRIMARY KEY,
    repo_id    INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    level      TEXT NOT NULL,
    result     TEXT NOT NULL,
    scanned_at INTEGER NOT NULL
);

CREATE TABLE scan_queue (
    key         TEXT PRIMARY KEY,
    repo_id     INTEGER NOT NULL,
    path        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    enqueued_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX scan_queue_lease ON scan_queue(lease_until, enqueued_at);
