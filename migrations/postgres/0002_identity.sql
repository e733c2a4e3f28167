-- Who may do what: GitLab users who signed in, their sessions and personal API tokens, sign-ins
-- in progress, and the audit log of every change attempted through the API (refusals included).
-- Secrets (session cookies, API tokens) are stored only as SHA-256 hex digests.

CREATE TABLE users (
    -- the GitLab user id
    id         BIGINT  PRIMARY KEY,
    username   TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

CREATE TABLE pending_sign_ins (
    state_hash    TEXT PRIMARY KEY,
    pkce_verifier TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    id          BIGSERIAL PRIMARY KEY,
    secret_hash TEXT    NOT NULL UNIQUE,
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    csrf_token  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    ended_at    TEXT
);

CREATE TABLE api_tokens (
    id          BIGSERIAL PRIMARY KEY,
    secret_hash TEXT    NOT NULL UNIQUE,
    user_id     BIGINT  NOT NULL REFERENCES users (id),
    name        TEXT    NOT NULL,
    read_only   BIGINT  NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE audit_log (
    id         BIGSERIAL PRIMARY KEY,
    created_at TEXT    NOT NULL,
    -- NULL for the bootstrap admin token and anonymous callers
    user_id    BIGINT ,
    actor      TEXT    NOT NULL,
    -- "session 4", "token 7 (ci)", "bootstrap token", "anonymous"
    via        TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    method     TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    release_id BIGINT ,
    component  TEXT,
    status     BIGINT  NOT NULL,
    message    TEXT
);

CREATE INDEX audit_log_release ON audit_log (release_id);
CREATE INDEX audit_log_user ON audit_log (user_id);
