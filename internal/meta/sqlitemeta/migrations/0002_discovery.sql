-- Discovery: download counts per day, likes, lineage edges and a trigram
-- index for substring search of repository names.
--
-- repos.downloads          downloads of the last 30 days (the Hub's "downloads")
-- repos.downloads_all_time every download ever counted
-- repos.trending           recent-download score (last 7 days, newer weigh more), x1000
-- downloads_daily          per repository and UTC day (days since 1970-01-01)
-- likes                    one row per (user, repository)
-- repo_lineage             base models named by a repository's card, with the
--                          relation (finetune, adapter, quantized, merge)
-- repos_fts                FTS5 trigram index over repos.lname, kept by triggers

ALTER TABLE repos ADD COLUMN downloads_all_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE repos ADD COLUMN trending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX repos_trending ON repos(type, trending, id);

CREATE TABLE downloads_daily (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    day     INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (repo_id, day)
) WITHOUT ROWID;
CREATE INDEX downloads_daily_day ON downloads_daily(day);

CREATE TABLE likes (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    repo_id    INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, repo_id)
) WITHOUT ROWID;
CREATE INDEX likes_repo ON likes(repo_id, created_at);

CREATE TABLE repo_lineage (
    repo_id    INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    base_lname TEXT NOT NULL,
    base_name  TEXT NOT NULL,
    relation   TEXT NOT NULL,
    pos        INTEGER NOT NULL,
    PRIMARY KEY (repo_id, base_lname)
) WITHOUT ROWID;
CREATE INDEX repo_lineage_base ON repo_lineage(base_lname, relation);

CREATE INDEX repo_meta_params ON repo_meta(num_parameters);

CREATE VIRTUAL TABLE repos_fts USING fts5(lname, content='repos', content_rowid='id', tokenize='trigram');
INSERT INTO repos_fts(rowid, lname) SELECT id, lname FROM repos;
CREATE TRIGGER repos_fts_insert AFTER INSERT ON repos BEGIN
    INSERT INTO repos_fts(rowid, lname) VALUES (new.id, new.lname);
END;
CREATE TRIGGER repos_fts_delete AFTER DELETE ON repos BEGIN
    INSERT INTO repos_fts(repos_fts, rowid, lname) VALUES ('delete', old.id, old.lname);
END;
CREATE TRIGGER repos_fts_update AFTER UPDATE OF lname ON repos BEGIN
    INSERT INTO repos_fts(repos_fts, rowid, lname) VALUES ('delete', old.id, old.lname);
    INSERT INTO repos_fts(rowid, lname) VALUES (new.id, new.lname);
END;
