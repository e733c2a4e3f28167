//! Job outcomes: scenario failure rules, `pod lib lint`'s dependency check against released
//! versions, and failing publishes. What "released" means lives here too.

use std::collections::BTreeMap;

use convoy_core::manifest::podspec::parse_podspec_file;

use super::{PipelineStatus, Tag, World};
use crate::rules::{self, ReleasedVersions};

impl World {
    /// Decides a finished job: `Ok(log)` or `Err(failure log)`.
    pub(super) fn job_outcome(&self, job_id: u64) -> Result<String, String> {
        let job = self.job(job_id);
        let pipeline = self.pipeline(job.pipeline_id);
        let project = self.project(job.project_id);
        let files = &self.commits[&pipeline.sha].files;
        for failure in project.job_failures.iter().filter(|f| f.job == job.name) {
            let applies = failure.when_file_contains.as_ref().is_none_or(|c| {
                files
                    .get(&c.path)
                    .is_some_and(|text| text.contains(&c.text))
            });
            if applies {
                return Err(format!(
                    "{}\nERROR: Job failed: exit code 1\n",
                    failure.log.trim_end()
                ));
            }
        }
        if rules::stage_checks_dependencies(&job.stage) {
            self.check_pod_dependencies(files)?;
        }
        if rules::stage_publishes(&job.stage) && pipeline.tag && project.fail_tag_pipeline {
            return Err(format!(
                "$ pod repo push private-specs {}.podspec\n[!] The repo `private-specs` is not clean: publishing failed (set by the scenario).\nERROR: Job failed: exit code 1\n",
                project.pod_name.as_deref().unwrap_or(project.name())
            ));
        }
        Ok(String::new())
    }

    /// `pod lib lint`: fails while a dependency that is a pod of this world is not released at
    /// a version the podspec accepts.
    fn check_pod_dependencies(&self, files: &BTreeMap<String, String>) -> Result<(), String> {
        let Some((file_name, text)) = files
            .iter()
            .find(|(path, _)| !path.contains('/') && is_podspec(path))
        else {
            return Ok(());
        };
        let podspec = parse_podspec_file(file_name, text).map_err(|e| {
            format!("[!] Invalid `{file_name}` file: {e}\nERROR: Job failed: exit code 1\n")
        })?;
        let dependencies: Vec<(String, Option<String>)> = podspec
            .dependencies
            .iter()
            .map(|d| (d.name.clone(), d.requirement.clone()))
            .collect();
        let unmet = rules::unmet_dependencies(&dependencies, &self.released_versions());
        if unmet.is_empty() {
            return Ok(());
        }
        let name = podspec
            .name
            .unwrap_or_else(|| pod_name_of_file(file_name).to_string());
        Err(rules::lint_failure_log(
            &name,
            podspec.version.as_deref().unwrap_or("?"),
            &unmet,
        ))
    }

    /// For every pod that is a project of the world: its released versions (a tag whose tag
    /// pipeline succeeded, or seeded as released).
    pub fn released_versions(&self) -> ReleasedVersions {
        let mut released = ReleasedVersions::new();
        for project in &self.projects {
            let Some(pod) = self.pod_name(project.id) else {
                continue;
            };
            let versions = project
                .tags
                .values()
                .filter(|tag| self.tag_released(project.id, tag))
                .map(|tag| tag.name.clone())
                .collect();
            released.insert(pod, versions);
        }
        released
    }

    fn tag_released(&self, project_id: u64, tag: &Tag) -> bool {
        tag.released_by_scenario
            || self
                .pipelines
                .iter()
                .rev()
                .find(|p| p.project_id == project_id && p.tag && p.ref_ == tag.name)
                .is_some_and(|p| p.status == PipelineStatus::Success)
    }

    /// Whether a version of a project is released.
    pub fn is_released(&self, project_id: u64, version: &str) -> bool {
        self.project(project_id)
            .tags
            .get(version)
            .is_some_and(|tag| self.tag_released(project_id, tag))
    }

    /// The pod a project publishes: from the scenario, else its podspec's file name.
    pub fn pod_name(&self, project_id: u64) -> Option<String> {
        let project = self.project(project_id);
        if let Some(name) = &project.pod_name {
            return Some(name.clone());
        }
        project.branches.values().find_map(|sha| {
            self.commits[sha]
                .files
                .keys()
                .find(|path| !path.contains('/') && is_podspec(path))
                .map(|path| pod_name_of_file(path).to_string())
        })
    }
}

fn is_podspec(path: &str) -> bool {
    path.ends_with(".podspec") || path.ends_with(".podspec.json")
}

fn pod_name_of_file(path: &str) -> &str {
    path.trim_end_matches(".json").trim_end_matches(".podspec")
}
