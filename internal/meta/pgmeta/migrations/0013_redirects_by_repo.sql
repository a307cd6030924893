-- A repository's former names, found by the repository (issue 15): the
-- children of a model are counted under its current and former names on
-- every model_info that misses the count cache, and deleting a repository
-- cascades to its redirects. Both scanned the whole table.

CREATE INDEX repo_redirects_repo ON repo_redirects (repo_id);
