-- Rate-limit counters and storage quotas.
--
-- rate_counters     requests of one caller ("user:ID", "ip:ADDR") in one
--                   bucket (api, resolvers, pages) during the fixed window
--                   starting at window_start (Unix seconds); every replica
--                   adds its batched counts with an upsert, and rows of past
--                   windows are pruned. UNLOGGED: the counters are rewritten
--                   every second and worth nothing after a crash, so they
--                   skip the WAL (and are not copied to standbys)
-- namespace_quotas  storage limit in bytes of a namespace (lower-case)
--
-- repos_namespace serves the usage sums of one namespace.

CREATE UNLOGGED TABLE rate_counters (
    subject      TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    n            BIGINT NOT NULL,
    PRIMARY KEY (subject, bucket, window_start)
);
CREATE INDEX rate_counters_window ON rate_counters(window_start);

CREATE TABLE namespace_quotas (
    namespace TEXT PRIMARY KEY,
    max_bytes BIGINT NOT NULL
);

CREATE INDEX repos_namespace ON repos(lower(namespace));
