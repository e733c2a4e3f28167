-- The scheduler asks, once per pass, for the average tag pipeline duration of every project of
-- a release (`Store::expected_pipeline_seconds`): a grouped query that reads this index only.
CREATE INDEX pipelines_by_project ON pipelines (project_path, kind, status, duration);
