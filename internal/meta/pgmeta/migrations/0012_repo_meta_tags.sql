-- A repository's tags also kept in its metadata row, in order, as a JSON
-- array (issue 15): a listing row used to gather them from repo_tags with
-- a sorted subquery per row, half the cost of reading the row.
-- repo_tags stays, for filtering by tag.
--
-- repo_meta.tags  JSON array of the tags in their order ('[]' for none)

ALTER TABLE repo_meta ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
UPDATE repo_meta m SET tags = (SELECT json_agg(tag ORDER BY pos)::text FROM repo_tags t WHERE t.repo_id = m.repo_id)
WHERE EXISTS (SELECT 1 FROM repo_tags t WHERE t.repo_id = m.repo_id);
