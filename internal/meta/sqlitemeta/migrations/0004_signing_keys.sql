-- Public keys users register to sign models (OpenSSF model signing,
-- key-based signatures); verification of a repository's model.sig tries
-- them and reports the owner of the key that verifies.

CREATE TABLE signing_keys (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    pem        TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX signing_keys_user ON signing_keys(user_id);
