-- Convoy's schema (SQLite). Times are RFC 3339 text and flags are integers so that one set of
-- queries runs through sqlx's Any driver on SQLite and PostgreSQL alike.

CREATE TABLE main_releases (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    app_project        TEXT    NOT NULL,
    app_ref            TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    require_review     INTEGER NOT NULL DEFAULT 0,
    manifest_path      TEXT,
    -- the commit the Podfile was last changed in when Convoy read it (no clobbering)
    manifest_commit_id TEXT,
    reason             TEXT,
    started_by         TEXT    NOT NULL,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    finished_at        TEXT,
    -- one worker at a time advances a release: it holds the lease until lease_until_ms
    lease_owner        TEXT,
    lease_until_ms     INTEGER,
    -- set when something happened (webhook, API action) that the worker must look at
    wake_requested     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE component_releases (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id       INTEGER NOT NULL REFERENCES main_releases (id),
    name             TEXT    NOT NULL,
    -- position in the plan's topological order
    position         INTEGER NOT NULL,
    project_path     TEXT    NOT NULL,
    git_url          TEXT    NOT NULL,
    branch           TEXT    NOT NULL,
    target_branch    TEXT,
    podspec_path     TEXT,
    podspec_version  TEXT,
    default_version  TEXT,
    version          TEXT,
    state            TEXT    NOT NULL,
    reviewed         INTEGER NOT NULL DEFAULT 0,
    -- 1 once Convoy requested the merge or created the tag for the current attempt
    acted            INTEGER NOT NULL DEFAULT 0,
    reason           TEXT,
    merge_request_iid INTEGER,
    pipeline_id      INTEGER,
    tag_name         TEXT,
    released_by      TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    UNIQUE (release_id, name)
);

CREATE TABLE plan_edges (
    release_id    INTEGER NOT NULL REFERENCES main_releases (id),
    component_id  INTEGER NOT NULL REFERENCES component_releases (id),
    depends_on_id INTEGER NOT NULL REFERENCES component_releases (id),
    PRIMARY KEY (component_id, depends_on_id)
);

CREATE TABLE merge_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    component_id  INTEGER NOT NULL REFERENCES component_releases (id),
    project_path  TEXT    NOT NULL,
    iid           INTEGER NOT NULL,
    source_branch TEXT    NOT NULL,
    target_branch TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    web_url       TEXT    NOT NULL,
    auto_merge    INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (component_id, project_path, iid)
);

CREATE TABLE pipelines (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    component_id  INTEGER NOT NULL REFERENCES component_releases (id),
    project_path  TEXT    NOT NULL,
    pipeline_id   INTEGER NOT NULL,
    -- 'merge_request' or 'tag'
    kind          TEXT    NOT NULL,
    git_ref       TEXT    NOT NULL,
    sha           TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    web_url       TEXT    NOT NULL,
    failed_job    TEXT,
    failure_log   TEXT,
    duration      INTEGER,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (component_id, project_path, pipeline_id)
);

CREATE TABLE tags (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    component_id INTEGER NOT NULL REFERENCES component_releases (id),
    project_path TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    sha          TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    UNIQUE (component_id, project_path, name)
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Idempotency-Key, else X-Gitlab-Event-UUID, else a hash of the body
    idempotency_key TEXT    NOT NULL UNIQUE,
    event_name      TEXT    NOT NULL,
    project_path    TEXT,
    payload         TEXT    NOT NULL,
    received_at     TEXT    NOT NULL,
    processed_at    TEXT,
    outcome         TEXT
);

-- Append-only: every state change and action, who or what caused it, and why.
CREATE TABLE release_events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id     INTEGER NOT NULL REFERENCES main_releases (id),
    component_id   INTEGER REFERENCES component_releases (id),
    component_name TEXT,
    actor          TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    from_state     TEXT,
    to_state       TEXT,
    reason         TEXT,
    created_at     TEXT    NOT NULL
);

CREATE INDEX component_releases_by_release ON component_releases (release_id);
CREATE INDEX component_releases_by_project ON component_releases (project_path, state);
CREATE INDEX release_events_by_release ON release_events (release_id, id);
CREATE INDEX main_releases_by_state ON main_releases (state);
