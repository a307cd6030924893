-- Objects kept in the form a git pack carries them (issue 15): a clone
-- copies stored bytes instead of compressing every object again.
--
-- objects.zlib  1: data is the zlib stream of the object's content (what
--               a pack holds after the entry's header), 0: data is the
--               content itself (rows written before this migration).
--               size stays the content's size either way.

ALTER TABLE objects ADD COLUMN zlib INTEGER NOT NULL DEFAULT 0;
