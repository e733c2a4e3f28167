-- Whether the component's .gitlab-ci.yml, as read when it was prepared, runs no job in a merge
-- request pipeline (issue 13: fewer GitLab requests): Convoy then asks for the branch pipeline
-- first instead of a merge request pipeline GitLab would refuse.
ALTER TABLE component_releases ADD COLUMN no_merge_request_jobs INTEGER NOT NULL DEFAULT 0;
