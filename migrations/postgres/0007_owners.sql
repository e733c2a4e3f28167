-- Owners of a component release (issue 11): the GitLab usernames who must act when it needs
-- a person, space-separated. NULL until the worker resolved them when preparing; '' when it
-- found nobody ("no owner").
ALTER TABLE component_releases ADD COLUMN owners TEXT;
