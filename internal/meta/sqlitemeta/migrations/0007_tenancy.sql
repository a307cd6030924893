-- Organisations, fine-grained and expiring tokens, gated access requests,
-- the audit log and accounts of single sign-on.
--
-- users.kind           'user' or 'org': one table, so that a user and an
--                      organisation can never share a name (lname UNIQUE)
-- users.default_private  an organisation's default visibility for new repos
-- org_members          a user's role in an organisation (no_access, read,
--                      contributor, write, admin)
-- tokens.expires_at    Unix ms, 0 = never
-- tokens.scopes        '' for classic tokens; the JSON scopes of a
--                      fine-grained token (role 'fineGrained')
-- repos.creator_id     who created the repository (a contributor may write
--                      only to the org repositories they created)
-- access_requests      a user's request for a gated repository and its
--                      review (pending, accepted, rejected)
-- audit_log            security-relevant events, newest last
-- external_identities  accounts signed in through an OpenID Connect issuer

ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'user';
ALTER TABLE users ADD COLUMN default_private INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN details TEXT NOT NULL DEFAULT '';

CREATE TABLE org_members (
    org_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members(user_id);

ALTER TABLE tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';

ALTER TABLE repos ADD COLUMN creator_id INTEGER NOT NULL DEFAULT 0;

CREATE TABLE access_requests (
    repo_id     INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    fields      TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    reviewed_at INTEGER NOT NULL DEFAULT 0,
    reviewed_by INTEGER NOT NULL DEFAULT 0,
    reason      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (repo_id, user_id)
);
CREATE INDEX access_requests_status ON access_requests(repo_id, status, created_at, user_id);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor_id  INTEGER NOT NULL DEFAULT 0,
    actor     TEXT NOT NULL DEFAULT '',
    action    TEXT NOT NULL,
    namespace TEXT NOT NULL DEFAULT '',
    target    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '',
    ip        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_namespace ON audit_log(namespace, id);

CREATE TABLE external_identities (
    issuer  TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (issuer, subject)
);
