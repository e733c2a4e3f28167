//! The simulated GitLab's state: projects, commits, merge requests, pipelines, tags and hooks.
//! Everything is synchronous and in memory; the HTTP layer and the ticker lock it briefly.

mod merge_requests;
mod notes;
mod outcomes;
mod pipelines;
mod repo;
pub(crate) mod users;
mod webhooks;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::error::ApiError;
use crate::faults::FaultControl;
use crate::scenario::{JobFailure, MergeMethod, Scenario};

pub(crate) use merge_requests::MergeOptions;
pub(crate) use pipelines::{JobStatus, PipelineSource, PipelineStatus};
pub(crate) use repo::{FileChange, blob_id, content_sha256};
pub(crate) use webhooks::{Delivery, HookParams, seconds_between};

/// The user every token acts as.
pub(crate) const USER_ID: u64 = 1;
pub(crate) const USER_NAME: &str = "Administrator";
pub(crate) const USER_USERNAME: &str = "root";
pub(crate) const USER_EMAIL: &str = "admin@example.com";

pub(crate) struct Project {
    pub id: u64,
    pub path: String,
    pub default_branch: String,
    pub pod_name: Option<String>,
    /// Branch name → head commit sha.
    pub branches: BTreeMap<String, String>,
    pub tags: BTreeMap<String, Tag>,
    pub fail_tag_pipeline: bool,
    /// No runner of the project is online: its pipelines wait, pending, until one is.
    pub runners_offline: bool,
    pub job_failures: Vec<JobFailure>,
    pub pipeline_duration: Duration,
    pub merge_method: MergeMethod,
    /// "Pipelines must succeed".
    pub only_allow_merge_if_pipeline_succeeds: bool,
    /// "Skipped pipelines are considered successful".
    pub allow_merge_on_skipped_pipeline: bool,
    /// The default of a new merge request's `force_remove_source_branch`.
    pub remove_source_branch_after_merge: bool,
    pub visibility: crate::scenario::Visibility,
    pub created_at: DateTime<Utc>,
    pub next_mr_iid: u64,
    pub next_pipeline_iid: u64,
}

impl Project {
    /// The last path segment (`app` of `mobile/app`).
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    pub fn namespace(&self) -> &str {
        self.path.rsplit_once('/').map(|(ns, _)| ns).unwrap_or("")
    }
}

pub(crate) struct Commit {
    pub sha: String,
    pub parents: Vec<String>,
    pub message: String,
    pub files: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    pub author_name: String,
    pub author_email: String,
}

impl Commit {
    /// The first line of the message.
    pub fn title(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

pub(crate) struct Tag {
    pub name: String,
    pub commit: String,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Seeded as released by the scenario (no pipeline needed).
    pub released_by_scenario: bool,
    /// An annotated tag (one with a message) is a git object of its own: its id is the Tag
    /// Push Hook's `after` and the API's `target`, while `checkout_sha` is the commit.
    pub object_sha: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MrState {
    Opened,
    Merged,
    Closed,
}

impl MrState {
    pub fn as_str(self) -> &'static str {
        match self {
            MrState::Opened => "opened",
            MrState::Merged => "merged",
            MrState::Closed => "closed",
        }
    }
}

pub(crate) struct MergeRequest {
    pub id: u64,
    pub iid: u64,
    pub project_id: u64,
    pub title: String,
    pub description: String,
    pub source_branch: String,
    pub target_branch: String,
    pub state: MrState,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub merged_at: Option<DateTime<Utc>>,
    /// The source head when merged (the source branch keeps moving afterwards).
    pub merged_sha: Option<String>,
    pub merge_commit_sha: Option<String>,
    pub auto_merge: bool,
    /// The source head auto-merge was set for (`merge_params['sha']`).
    pub auto_merge_sha: Option<String>,
    /// How many times it was merged; more than once would be a simulator bug, tests check it.
    pub merge_count: u32,
    /// `head_pipeline_id`: linked by `MergeRequests::UpdateHeadPipelineWorker` some time
    /// after a pipeline is created, so it can be an older pipeline (or none) for a while.
    pub head_pipeline_id: Option<u64>,
    /// Delete the source branch when merged.
    pub force_remove_source_branch: bool,
    /// `assignee_ids` as given at creation. GitLab drops the ids of users who may not be
    /// assigned (`IssuableBaseService#filter_assignees`); the simulator keeps them as given.
    pub assignee_ids: Vec<u64>,
    /// Until then `detailed_merge_status` is `preparing` (the diff is being built).
    pub prepared_at: Instant,
    /// Until then `detailed_merge_status` is `checking` (the mergeability check runs after
    /// the MR is opened or its source branch moves).
    pub checked_at: Instant,
}

/// One merge as it happened, with the head pipeline GitLab had linked at that moment.
#[derive(Debug, Clone)]
pub(crate) struct MergeRecord {
    pub project_id: u64,
    pub iid: u64,
    /// The source head that was merged.
    pub sha: String,
    pub head_pipeline: Option<u64>,
    pub head_pipeline_sha: Option<String>,
    pub head_pipeline_status: Option<PipelineStatus>,
    /// Merged by auto-merge (as opposed to the merge call itself).
    pub by_auto_merge: bool,
}

pub(crate) struct Pipeline {
    pub id: u64,
    pub iid: u64,
    pub project_id: u64,
    pub sha: String,
    pub before_sha: String,
    pub ref_: String,
    pub tag: bool,
    pub source: String,
    pub status: PipelineStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub stages: Vec<String>,
    /// Current (not retried) job ids, in stage order.
    pub jobs: Vec<u64>,
    /// The merge request a `merge_request_event` pipeline belongs to.
    pub mr_iid: Option<u64>,
    /// When the ticker should move this pipeline on next.
    pub next_step_at: Option<Instant>,
    pub duration: Duration,
    /// When it was created, for the head pipeline lag.
    pub created_instant: Instant,
}

pub(crate) struct Job {
    pub id: u64,
    pub pipeline_id: u64,
    pub project_id: u64,
    pub name: String,
    pub stage: String,
    pub status: JobStatus,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub log: String,
    pub failure_reason: Option<String>,
    pub retried: bool,
}

pub(crate) struct Hook {
    pub id: u64,
    pub project_id: u64,
    pub uuid: String,
    pub params: HookParams,
    pub created_at: DateTime<Utc>,
}

pub(crate) struct World {
    pub base_url: String,
    pub default_pipeline_duration: Duration,
    /// At most this many pipelines run at once (`None`: no limit).
    pub ci_capacity: Option<usize>,
    /// Record `skipped` pipelines for `[ci skip]` pushes, as real GitLab does.
    pub record_skipped_pipelines: bool,
    /// Merge request pipelines run only jobs that ask for them, as in real GitLab.
    pub strict_merge_request_pipelines: bool,
    /// Opening or pushing to a merge request starts a merge request pipeline.
    pub automatic_merge_request_pipelines: bool,
    /// How long head pipeline linking and mergeability checks take.
    pub head_pipeline_lag: Duration,
    /// Every merge, with the head pipeline it had.
    pub merges: Vec<MergeRecord>,
    pub faults: FaultControl,
    /// The scopes of the one token (`GET /personal_access_tokens/self`).
    pub token_scopes: Vec<String>,
    pub projects: Vec<Project>,
    pub commits: HashMap<String, Commit>,
    pub merge_requests: Vec<MergeRequest>,
    pub pipelines: Vec<Pipeline>,
    pub jobs: Vec<Job>,
    pub hooks: Vec<Hook>,
    next_hook_id: u64,
    /// Notes of merge requests, by creation.
    pub notes: Vec<notes::Note>,
    next_note_id: u64,
    /// Feeds unique commit shas.
    sha_counter: u64,
    /// Webhook deliveries waiting to be handed to the delivery task.
    pub outbox: Vec<Delivery>,
    /// API requests answered so far. Not GitLab behaviour: an observation for benchmarks and
    /// tests (how many requests a release costs), read through `WorldView::api_requests`.
    pub api_requests: ApiRequestCounts,
}

/// API requests the simulator answered (after authentication), by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiRequestCounts {
    /// `GET` and `HEAD` requests.
    pub reads: u64,
    /// Every other method (`POST`, `PUT`, `DELETE`, …).
    pub writes: u64,
    /// By method and endpoint, ids and names replaced (`PUT /projects/:project/hooks/:n`).
    pub by_endpoint: std::collections::BTreeMap<String, u64>,
}

impl ApiRequestCounts {
    /// Reads and writes together.
    pub fn total(&self) -> u64 {
        self.reads + self.writes
    }
}

impl World {
    /// Builds the world a scenario describes; `base_url` replaces `{{base_url}}` in files.
    pub fn from_scenario(
        scenario: &Scenario,
        base_url: &str,
        faults: FaultControl,
    ) -> anyhow::Result<World> {
        let mut world = World {
            base_url: base_url.trim_end_matches('/').to_string(),
            default_pipeline_duration: Duration::from_millis(scenario.pipeline_duration_ms),
            ci_capacity: scenario.ci_capacity,
            record_skipped_pipelines: scenario.skipped_pipelines,
            strict_merge_request_pipelines: scenario.strict_merge_request_pipelines,
            automatic_merge_request_pipelines: scenario.automatic_merge_request_pipelines,
            head_pipeline_lag: Duration::from_millis(scenario.head_pipeline_lag_ms),
            merges: Vec::new(),
            faults,
            token_scopes: scenario
                .token_scopes
                .clone()
                .unwrap_or_else(|| vec!["api".to_owned()]),
            projects: Vec::new(),
            commits: HashMap::new(),
            merge_requests: Vec::new(),
            pipelines: Vec::new(),
            jobs: Vec::new(),
            hooks: Vec::new(),
            next_hook_id: 1,
            notes: Vec::new(),
            next_note_id: 0,
            sha_counter: 0,
            outbox: Vec::new(),
            api_requests: ApiRequestCounts::default(),
        };
        for spec in &scenario.projects {
            world.seed_project(spec)?;
        }
        Ok(world)
    }

    fn seed_project(&mut self, spec: &crate::scenario::ProjectSpec) -> anyhow::Result<()> {
        let id = self.projects.len() as u64 + 1;
        let duration = spec
            .pipeline_duration_ms
            .map(Duration::from_millis)
            .unwrap_or(self.default_pipeline_duration);
        self.projects.push(Project {
            id,
            path: spec.path.clone(),
            default_branch: spec.default_branch.clone(),
            pod_name: spec.pod_name.clone(),
            branches: BTreeMap::new(),
            tags: BTreeMap::new(),
            fail_tag_pipeline: spec.fail_tag_pipeline,
            runners_offline: false,
            job_failures: spec.job_failures.clone(),
            pipeline_duration: duration,
            merge_method: spec.merge_method,
            only_allow_merge_if_pipeline_succeeds: spec.only_allow_merge_if_pipeline_succeeds,
            allow_merge_on_skipped_pipeline: spec.allow_merge_on_skipped_pipeline,
            remove_source_branch_after_merge: spec.remove_source_branch_after_merge,
            visibility: spec.visibility,
            created_at: Utc::now(),
            next_mr_iid: 1,
            next_pipeline_iid: 1,
        });
        for branch in &spec.branches {
            let base = branch
                .from
                .as_ref()
                .map(|from| self.projects[id as usize - 1].branches[from].clone());
            let mut files = base
                .as_ref()
                .map(|sha| self.commits[sha].files.clone())
                .unwrap_or_default();
            for (path, content) in &branch.files {
                files.insert(
                    path.clone(),
                    content.replace("{{base_url}}", &self.base_url),
                );
            }
            let message = branch
                .message
                .clone()
                .unwrap_or_else(|| match &branch.from {
                    Some(_) => format!("Start {}", branch.name),
                    None => "Initial commit".to_string(),
                });
            let sha = self.new_commit(base.into_iter().collect(), message, files);
            self.project_mut(id)
                .branches
                .insert(branch.name.clone(), sha);
            if branch.pipeline {
                self.create_pipeline(id, &branch.name, PipelineSource::Push, None)
                    .map_err(|e| {
                        anyhow::anyhow!("{}: pipeline of {}: {}", spec.path, branch.name, e.text())
                    })?;
            }
        }
        for tag in &spec.existing_tags {
            self.seed_tag(id, &tag.name, &tag.ref_, tag.released)?;
            self.project_mut(id)
                .tags
                .get_mut(&tag.name)
                .expect("just seeded")
                .message = tag.message.clone();
        }
        Ok(())
    }

    /// Adds a tag silently (no webhook, no pipeline), as history that predates the simulator.
    pub fn seed_tag(
        &mut self,
        project_id: u64,
        name: &str,
        reference: &str,
        released: bool,
    ) -> anyhow::Result<String> {
        let path = self.project(project_id).path.clone();
        let commit = self.resolve_ref(project_id, reference).ok_or_else(|| {
            anyhow::anyhow!("project {path}: tag {name} points at unknown ref {reference}")
        })?;
        anyhow::ensure!(
            !self.project(project_id).tags.contains_key(name),
            "project {path}: tag {name} exists already"
        );
        let tag = Tag {
            name: name.to_string(),
            commit: commit.clone(),
            message: None,
            created_at: Utc::now(),
            released_by_scenario: released,
            object_sha: None,
        };
        self.project_mut(project_id)
            .tags
            .insert(name.to_string(), tag);
        Ok(commit)
    }

    /// A project by numeric id or by path (`group/app`), as the API addresses it.
    pub fn find_project(&self, id_or_path: &str) -> Result<u64, ApiError> {
        let found = match id_or_path.parse::<u64>() {
            Ok(id) => self.projects.iter().find(|p| p.id == id),
            Err(_) => self
                .projects
                .iter()
                .find(|p| p.path.eq_ignore_ascii_case(id_or_path)),
        };
        found
            .map(|p| p.id)
            .ok_or_else(|| ApiError::not_found("Project"))
    }

    pub fn project(&self, id: u64) -> &Project {
        &self.projects[id as usize - 1]
    }

    pub fn project_mut(&mut self, id: u64) -> &mut Project {
        &mut self.projects[id as usize - 1]
    }

    pub fn project_by_path(&self, path: &str) -> anyhow::Result<u64> {
        self.find_project(path)
            .map_err(|_| anyhow::anyhow!("no project {path} in the simulator"))
    }

    pub fn pipeline(&self, id: u64) -> &Pipeline {
        &self.pipelines[id as usize - 1]
    }

    pub fn pipeline_mut(&mut self, id: u64) -> &mut Pipeline {
        &mut self.pipelines[id as usize - 1]
    }

    pub fn job(&self, id: u64) -> &Job {
        &self.jobs[id as usize - 1]
    }

    pub fn job_mut(&mut self, id: u64) -> &mut Job {
        &mut self.jobs[id as usize - 1]
    }

    /// A unique 40-hex-digit id (git's sha1 length).
    pub fn unique_sha(&mut self, salt: &str) -> String {
        use sha2::{Digest, Sha256};
        self.sha_counter += 1;
        let digest = Sha256::digest(format!("{}\0{salt}", self.sha_counter).as_bytes());
        hex(&digest)[..40].to_string()
    }

    pub fn web_url(&self, project_id: u64) -> String {
        format!("{}/{}", self.base_url, self.project(project_id).path)
    }

    /// Changes a project's job failure rules (tests: "lint fails until the owner's fix").
    pub fn set_job_failures(&mut self, project_id: u64, failures: Vec<JobFailure>) {
        self.project_mut(project_id).job_failures = failures;
    }
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// GitLab's API time format: `2022-09-21T01:05:07.200Z`.
pub(crate) fn api_time(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The time format of pipeline and job webhooks: `2016-08-12 15:23:28 UTC`.
pub(crate) fn hook_time(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
