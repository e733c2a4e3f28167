-- Convoy's schema (PostgreSQL). Times are RFC 3339 text and flags are integers so that one set of
-- queries runs through sqlx's Any driver on SQLite and PostgreSQL alike.

CREATE TABLE main_releases (
    id                 BIGSERIAL PRIMARY KEY,
    app_project        TEXT    NOT NULL,
    app_ref            TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    require_review     BIGINT  NOT NULL DEFAULT 0,
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
    lease_until_ms     BIGINT ,
    -- set when something happened (webhook, API action) that the worker must look at
    wake_requested     BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE component_releases (
    id               BIGSERIAL PRIMARY KEY,
    release_id       BIGINT  NOT NULL REFERENCES main_releases (id),
    name             TEXT    NOT NULL,
    -- position in the plan's topological order
    position         BIGINT  NOT NULL,
    project_path     TEXT    NOT NULL,
    git_url          TEXT    NOT NULL,
    branch           TEXT    NOT NULL,
    target_branch    TEXT,
    podspec_path     TEXT,
    podspec_version  TEXT,
    default_version  TEXT,
    version          TEXT,
    state            TEXT    NOT NULL,
    reviewed         BIGINT  NOT NULL DEFAULT 0,
    -- 1 once Convoy requested the merge or created the tag for the current attempt
    acted            BIGINT  NOT NULL DEFAULT 0,
    reason           TEXT,
    merge_request_iid BIGINT,
    pipeline_id      BIGINT,
    tag_name         TEXT,
    released_by      TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    UNIQUE (release_id, name)
);

CREATE TABLE plan_edges (
    release_id    BIGINT  NOT NULL REFERENCES main_releases (id),
    component_id  BIGINT  NOT NULL REFERENCES component_releases (id),
    depends_on_id BIGINT  NOT NULL REFERENCES component_releases (id),
    PRIMARY KEY (component_id, depends_on_id)
);

CREATE TABLE merge_requests (
    id            BIGSERIAL PRIMARY KEY,
    component_id  BIGINT  NOT NULL REFERENCES component_releases (id),
    project_path  TEXT    NOT NULL,
    iid           BIGINT  NOT NULL,
    source_branch TEXT    NOT NULL,
    target_branch TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    web_url       TEXT    NOT NULL,
    auto_merge    BIGINT  NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (component_id, project_path, iid)
);

CREATE TABLE pipelines (
    id            BIGSERIAL PRIMARY KEY,
    component_id  BIGINT  NOT NULL REFERENCES component_releases (id),
    project_path  TEXT    NOT NULL,
    pipeline_id   BIGINT  NOT NULL,
    -- 'merge_request' or 'tag'
    kind          TEXT    NOT NULL,
    git_ref       TEXT    NOT NULL,
    sha           TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    web_url       TEXT    NOT NULL,
    failed_job    TEXT,
    failure_log   TEXT,
    duration      BIGINT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (component_id, project_path, pipeline_id)
);

CREATE TABLE tags (
    id           BIGSERIAL PRIMARY KEY,
    component_id BIGINT  NOT NULL REFERENCES component_releases (id),
    project_path TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    sha          TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    UNIQUE (component_id, project_path, name)
);

CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
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
    id             BIGSERIAL PRIMARY KEY,
    release_id     BIGINT  NOT NULL REFERENCES main_releases (id),
    component_id   BIGINT  REFERENCES component_releases (id),
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
