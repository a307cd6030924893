-- Discovery: download counts per day, likes, lineage edges and a trigram
-- index for substring search of repository names (same tables as
-- sqlitemeta 0002; pg_trgm replaces SQLite's FTS5 trigram table).

ALTER TABLE repos ADD COLUMN downloads_all_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE repos ADD COLUMN trending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX repos_trending ON repos(type, trending, id);

CREATE TABLE downloads_daily (
    repo_id BIGINT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    day     INTEGER NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (repo_id, day)
);
CREATE INDEX downloads_daily_day ON downloads_daily(day);

CREATE TABLE likes (
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    repo_id    BIGINT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, repo_id)
);
CREATE INDEX likes_repo ON likes(repo_id, created_at);

CREATE TABLE repo_lineage (
    repo_id    BIGINT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    base_lname TEXT NOT NULL,
    base_name  TEXT NOT NULL,
    relation   TEXT NOT NULL,
    pos        INTEGER NOT NULL,
    PRIMARY KEY (repo_id, base_lname)
);
CREATE INDEX repo_lineage_base ON repo_lineage(base_lname, relation);

CREATE INDEX repo_meta_params ON repo_meta(num_parameters);

-- The extension lives in schema public (one per database), so that agora
-- schemas chosen with search_path all find it. pg_trgm is a trusted
-- extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE INDEX repos_lname_trgm ON repos USING gin (lname public.gin_trgm_ops);
