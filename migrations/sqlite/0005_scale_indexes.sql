-- The scheduler asks, once per pass, for the average tag pipeline duration of every project of
-- a release (`Store::expected_pipeline_seconds`): a grouped query that reads this index only.
CREATE INDEX pipelines_by_project ON pipelines (project_path, kind, status, duration);

-- A pass steps only the components something concerns (`Store::take_component_wakes`): a
-- webhook for its project, a transition that needs a follow-up look, reconcile's full look.
-- 1 so that components of releases already running get one look after the upgrade.
ALTER TABLE component_releases ADD COLUMN wake_requested INTEGER NOT NULL DEFAULT 1;
CREATE INDEX component_releases_woken ON component_releases (release_id, wake_requested);
