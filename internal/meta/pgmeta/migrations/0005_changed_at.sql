-- A change stamp on repositories (Unix ms, set by every write that
-- touches a repository or its derived metadata) so that per-replica search
-- indexes can refresh incrementally.

ALTER TABLE repos ADD COLUMN changed_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX repos_changed ON repos(changed_at);
