-- The project hooks Convoy made sure of (issue 13: fewer GitLab requests): a component release
-- skips listing and editing its project's hooks when Convoy ensured the same hook URL with the
-- same secret (its SHA-256 digest, never the secret) recently.
CREATE TABLE project_hooks (
    project_path  TEXT PRIMARY KEY,
    hook_url      TEXT NOT NULL,
    secret_digest TEXT NOT NULL,
    ensured_at    TEXT NOT NULL
);
