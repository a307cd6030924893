-- Deleted repositories, stamped like changes: a deletion leaves no row in
-- repos for the per-replica search indexes to read, so it is recorded here
-- until every index has caught up (rows older than a day are dropped).

CREATE TABLE repo_tombstones (
    repo_id    INTEGER PRIMARY KEY,
    changed_at INTEGER NOT NULL
);
CREATE INDEX repo_tombstones_changed ON repo_tombstones(changed_at);
