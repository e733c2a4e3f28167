//! The scenario: the repositories, CI behaviour, faults and webhook settings a simulator starts
//! with. Read from YAML (`simulator/scenarios/*.yaml`); `demo` is built in.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::faults::Faults;

/// Everything the simulated GitLab holds when it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// How long a pipeline takes from creation to its last job's end, unless a project says
    /// otherwise. Short by default so tests run fast.
    #[serde(default = "default_pipeline_duration_ms")]
    pub pipeline_duration_ms: u64,
    /// At most this many pipelines run at once, the others wait (limited CI runners); no limit
    /// when absent.
    #[serde(default)]
    pub ci_capacity: Option<usize>,
    /// A `[ci skip]` push, tag or merge request pipeline is recorded as a pipeline with status
    /// `skipped` and no jobs, as GitLab does (`Gitlab::Ci::Pipeline::Chain::Skip`). `false`:
    /// no pipeline at all (the product brief's older model).
    #[serde(default = "yes")]
    pub skipped_pipelines: bool,
    /// A merge request pipeline runs only jobs that ask for one (`only: [merge_requests]`,
    /// `merge_request_event` rules) and is refused without any, as in GitLab. `false`: the
    /// branch's jobs run instead (an older simplification).
    #[serde(default = "yes")]
    pub strict_merge_request_pipelines: bool,
    /// How long after a pipeline is created GitLab links it as its merge request's head
    /// pipeline (`MergeRequests::UpdateHeadPipelineWorker` runs asynchronously), and how long
    /// a merge request stays `preparing`/`checking` after it is opened or its source branch
    /// moves. 0: at once.
    #[serde(default = "default_head_pipeline_lag_ms")]
    pub head_pipeline_lag_ms: u64,
    /// Every merge request opened (or pushed to) gets a merge request pipeline when its CI
    /// config has merge request jobs (`MergeRequests::AfterCreateService`,
    /// `MergeRequests::RefreshService`). `false`: only the API starts them.
    #[serde(default = "yes")]
    pub automatic_merge_request_pipelines: bool,
    /// How webhook deliveries are retried.
    #[serde(default)]
    pub webhooks: WebhookSettings,
    /// Faults injected from the start; they can be changed at run time.
    #[serde(default)]
    pub faults: Faults,
    /// The scopes of the simulator's token, as `GET /personal_access_tokens/self` tells them;
    /// `["api"]` when absent.
    #[serde(default)]
    pub token_scopes: Option<Vec<String>>,
    /// GitLab's authenticated API rate limit (`throttle_authenticated_api`); none by default,
    /// as on a new self-managed instance.
    #[serde(default)]
    pub api_rate_limit: Option<crate::throttle::ApiRateLimit>,
    pub projects: Vec<ProjectSpec>,
    /// People who can sign in (OAuth) and their access to projects and groups.
    #[serde(default)]
    pub users: Vec<crate::world::users::UserSpec>,
    /// Groups besides the projects' own namespaces (which are groups already), by full path
    /// (`mobile/release-managers`); a user's `access` may name a group as well as a project.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// How webhook deliveries are sent, and retried when the receiver fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Attempts per delivery, the first one included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubled for each further attempt.
    pub retry_backoff_ms: u64,
    /// Per-attempt HTTP timeout.
    pub timeout_ms: u64,
    /// Deliveries in flight at once. GitLab sends each delivery from a Sidekiq job of its own
    /// (`WebHookService#async_execute` enqueues a `WebHookWorker`), so deliveries start in the
    /// order they happened but run side by side, up to Sidekiq's threads (GitLab's default
    /// `max_concurrency` is 20 since gitlab!104989). 1: one after another, in order.
    pub concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            max_attempts: 4,
            retry_backoff_ms: 100,
            timeout_ms: 5_000,
            concurrency: 20,
        }
    }
}

/// One project (repository) of the simulated GitLab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    /// `group/name`, as in the project's URL.
    pub path: String,
    #[serde(default = "default_branch")]
    pub default_branch: String,
    /// The pod this project publishes; when absent, the name of a `.podspec` file in it.
    #[serde(default)]
    pub pod_name: Option<String>,
    /// Branches, created in order. The default branch must come first.
    pub branches: Vec<BranchSpec>,
    /// Tags that exist before anything happens.
    #[serde(default)]
    pub existing_tags: Vec<TagSpec>,
    /// When true, the `publish`/`deploy` job of a tag pipeline fails.
    #[serde(default)]
    pub fail_tag_pipeline: bool,
    /// Jobs that fail, with the log they print.
    #[serde(default)]
    pub job_failures: Vec<JobFailure>,
    /// Overrides the scenario's pipeline duration for this project.
    #[serde(default)]
    pub pipeline_duration_ms: Option<u64>,
    /// `merge` (a merge commit, GitLab's default), `rebase_merge` (a merge commit, only when
    /// the source is on top of the target) or `ff` (fast-forward only).
    #[serde(default)]
    pub merge_method: MergeMethod,
    /// "Pipelines must succeed". GitLab's default for a new project is off.
    #[serde(default)]
    pub only_allow_merge_if_pipeline_succeeds: bool,
    /// "Skipped pipelines are considered successful". Off by default.
    #[serde(default)]
    pub allow_merge_on_skipped_pipeline: bool,
    /// "Enable 'Delete source branch' option by default": merge requests opened through the
    /// API get `force_remove_source_branch` from it, and merging deletes the source branch.
    /// GitLab's default for a new project is on.
    #[serde(default = "yes")]
    pub remove_source_branch_after_merge: bool,
    /// Who may read the project without being a member (`visibility`): `private` (GitLab's
    /// default for a new project, `Gitlab::VisibilityLevel::PRIVATE`), `internal` (every
    /// signed-in user who is not external) or `public` (everyone).
    #[serde(default)]
    pub visibility: Visibility,
}

/// A project's `visibility` (`Gitlab::VisibilityLevel`: private 0, internal 10, public 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Private,
    Internal,
    Public,
}

impl Visibility {
    /// GitLab's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }
}

/// How merge requests of a project are merged (`merge_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMethod {
    #[default]
    Merge,
    RebaseMerge,
    Ff,
}

impl MergeMethod {
    /// GitLab's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::RebaseMerge => "rebase_merge",
            MergeMethod::Ff => "ff",
        }
    }
}

/// One branch and the files of its (single) seed commit.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchSpec {
    pub name: String,
    /// The branch this one starts from; its files are the base, `files` are laid over them.
    #[serde(default)]
    pub from: Option<String>,
    /// The seed commit's message.
    #[serde(default)]
    pub message: Option<String>,
    /// Path → content. `{{base_url}}` is replaced by the simulator's URL.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// A push pipeline runs for the seed commit when the simulator starts, as if the owner had
    /// just pushed the branch (for a component, its lint fails while a dependency is not out).
    #[serde(default)]
    pub pipeline: bool,
}

/// A tag that exists when the simulator starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagSpec {
    pub name: String,
    /// Branch (or commit) the tag points at.
    #[serde(rename = "ref")]
    pub ref_: String,
    #[serde(default)]
    pub message: Option<String>,
    /// Whether the version counts as released (as if its tag pipeline had succeeded).
    #[serde(default = "yes")]
    pub released: bool,
}

/// A job that fails with a given log, optionally only while a file contains some text (so an
/// owner's fix, a commit removing that text, makes it pass).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFailure {
    /// The job's name (e.g. `lint`).
    pub job: String,
    /// What the failing job prints.
    pub log: String,
    #[serde(default)]
    pub when_file_contains: Option<FileContains>,
}

/// A condition on the pipeline commit's files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileContains {
    pub path: String,
    pub text: String,
}

/// The defaults are the YAML defaults (GitLab's behaviour), so there is one place for them.
impl Default for Scenario {
    fn default() -> Self {
        serde_yaml::from_str("projects: []").expect("an empty scenario parses")
    }
}

impl Default for ProjectSpec {
    fn default() -> Self {
        serde_yaml::from_str("path: ''\nbranches: []").expect("an empty project parses")
    }
}

fn default_pipeline_duration_ms() -> u64 {
    200
}

fn default_head_pipeline_lag_ms() -> u64 {
    500
}

fn default_branch() -> String {
    "main".to_string()
}

fn yes() -> bool {
    true
}

const DEMO_YAML: &str = include_str!("../scenarios/demo.yaml");

impl Scenario {
    /// The built-in demo: an app and the brief's four components A–D (see
    /// `simulator/scenarios/demo.yaml`, which is its single source).
    pub fn demo() -> Scenario {
        Scenario::from_yaml(DEMO_YAML).expect("the built-in demo scenario is valid")
    }

    /// Reads and checks a YAML scenario.
    pub fn from_yaml(text: &str) -> anyhow::Result<Scenario> {
        let scenario: Scenario =
            serde_yaml::from_str(text).context("the scenario is not valid YAML for a scenario")?;
        scenario.check()?;
        Ok(scenario)
    }

    /// Reads a YAML scenario file.
    pub fn from_file(path: impl AsRef<Path>) -> anyhow::Result<Scenario> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read scenario file {}", path.display()))?;
        Scenario::from_yaml(&text).with_context(|| format!("in scenario file {}", path.display()))
    }

    /// `demo` or a file path, as `convoy sim --scenario` takes it.
    pub fn from_name_or_file(name: &str) -> anyhow::Result<Scenario> {
        if name == "demo" {
            Ok(Scenario::demo())
        } else {
            Scenario::from_file(name)
        }
    }

    /// Catches mistakes a world could not be built from, with a sentence saying which.
    fn check(&self) -> anyhow::Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        for project in &self.projects {
            anyhow::ensure!(
                project.path.contains('/')
                    && !project.path.starts_with('/')
                    && !project.path.ends_with('/'),
                "project path \"{}\" must look like group/name",
                project.path
            );
            anyhow::ensure!(
                seen.insert(&project.path),
                "project {} is listed twice",
                project.path
            );
            check_branches(project)?;
        }
        Ok(())
    }
}

fn check_branches(project: &ProjectSpec) -> anyhow::Result<()> {
    let first = project.branches.first();
    anyhow::ensure!(
        first.is_some_and(|b| b.name == project.default_branch),
        "project {}: the first branch must be the default branch {}",
        project.path,
        project.default_branch
    );
    let mut known = std::collections::BTreeSet::new();
    for branch in &project.branches {
        if let Some(from) = &branch.from {
            anyhow::ensure!(
                known.contains(from),
                "project {}: branch {} starts from {}, which is not listed before it",
                project.path,
                branch.name,
                from
            );
        }
        anyhow::ensure!(
            known.insert(branch.name.clone()),
            "project {}: branch {} is listed twice",
            project.path,
            branch.name
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_parses_and_has_the_app_and_four_components() {
        let demo = Scenario::demo();
        let paths: Vec<&str> = demo.projects.iter().map(|p| p.path.as_str()).collect();
        for path in [
            "mobile/app",
            "ios/core-kit",
            "ios/network-kit",
            "ios/storage-kit",
            "ios/feature-kit",
        ] {
            assert!(paths.contains(&path), "demo lacks {path}: {paths:?}");
        }
    }

    #[test]
    fn a_branch_from_an_unknown_branch_is_refused_with_its_name() {
        let text = "projects:\n  - path: g/a\n    branches:\n      - name: main\n      - name: dev\n        from: nope\n";
        let error = Scenario::from_yaml(text).unwrap_err();
        assert!(
            format!("{error:#}").contains("branch dev starts from nope"),
            "{error:#}"
        );
    }

    #[test]
    fn the_default_branch_must_come_first() {
        let text = "projects:\n  - path: g/a\n    branches:\n      - name: dev\n";
        let error = Scenario::from_yaml(text).unwrap_err();
        assert!(
            format!("{error:#}").contains("first branch must be the default branch main"),
            "{error:#}"
        );
    }
}
