-- Rate-limit counters and storage quotas.
--
-- rate_counters     requests of one caller ("user:ID", "ip:ADDR") in one
--                   bucket (api, resolvers, pages) during the fixed window
--                   starting at window_start (Unix seconds); every replica
--                   adds its batched counts with an upsert, and rows of past
--                   windows are pruned
-- namespace_quotas  storage limit in bytes of a namespace (lower-case)
--
-- repos_namespace serves the usage sums of one namespace.

CREATE TABLE rate_counters (
    subject      TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (subject, bucket, window_start)
) WITHOUT ROWID;
CREATE INDEX rate_counters_window ON rate_counters(window_start);

CREATE TABLE namespace_quotas (
    namespace TEXT PRIMARY KEY,
    max_bytes INTEGER NOT NULL
);

CREATE INDEX repos_namespace ON repos(lower(namespace));
