//! `WorldView`: what tests read from the simulator (live, not a snapshot), in plain structs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::shared::Shared;
use crate::shared::{DeliveryOutcome, WebhookDelivery};
use crate::world::{ApiRequestCounts, World};

/// A project and its branches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectInfo {
    pub id: u64,
    pub path: String,
    pub default_branch: String,
    pub branches: Vec<String>,
    /// The pod it publishes, when it has a podspec (or the scenario names one).
    pub pod_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub sha: String,
    pub message: String,
    pub parents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequestInfo {
    pub iid: u64,
    pub title: String,
    pub source_branch: String,
    pub target_branch: String,
    /// `opened`, `merged` or `closed`.
    pub state: String,
    /// How many times it was merged (exactly 1 once merged, unless something is wrong).
    pub merge_count: u32,
    pub merge_commit_sha: Option<String>,
    /// Auto-merge ("merge when pipeline succeeds") is set.
    pub auto_merge: bool,
    /// The head pipeline GitLab has linked (it lags behind pipeline creation).
    pub head_pipeline: Option<u64>,
    /// The source head now, or the merged head once merged.
    pub sha: Option<String>,
    pub force_remove_source_branch: bool,
    pub description: String,
    /// The user ids it was assigned to.
    pub assignee_ids: Vec<u64>,
}

/// One merge, with the head pipeline the merge request had at that moment: a test proves
/// with it that nothing was merged without CI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeInfo {
    pub iid: u64,
    /// The source head that was merged.
    pub sha: String,
    pub head_pipeline: Option<u64>,
    pub head_pipeline_sha: Option<String>,
    /// `success`, `running`, `skipped`, ... (`None`: no head pipeline).
    pub head_pipeline_status: Option<String>,
    /// Merged by auto-merge rather than by the merge call itself.
    pub by_auto_merge: bool,
}

impl MergeInfo {
    /// The merge happened with a successful pipeline for the merged head.
    pub fn had_passing_ci(&self) -> bool {
        self.head_pipeline_status.as_deref() == Some("success")
            && self.head_pipeline_sha.as_deref() == Some(self.sha.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagInfo {
    pub name: String,
    /// The commit it points at.
    pub commit: String,
    pub message: Option<String>,
    /// Its tag pipeline succeeded (or the scenario seeded it as released).
    pub released: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    pub id: u64,
    pub name: String,
    pub stage: String,
    /// `created`, `running`, `success`, `failed`, `canceled` or `skipped`.
    pub status: String,
    pub log: String,
    pub retried: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineInfo {
    pub id: u64,
    /// Branch, tag or `refs/merge-requests/:iid/head`.
    pub reference: String,
    pub sha: String,
    pub tag: bool,
    /// `created`, `running`, `success`, `failed`, `canceled` or `skipped`.
    pub status: String,
    /// `push`, `api`, `merge_request_event`.
    pub source: String,
    /// Current jobs (not the retried ones), in stage order.
    pub jobs: Vec<JobInfo>,
}

/// A note of a merge request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteInfo {
    pub id: u64,
    pub body: String,
    /// Written by GitLab itself ("merged").
    pub system: bool,
    /// How many times its body was replaced.
    pub edits: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookInfo {
    pub id: u64,
    pub url: String,
    pub token: Option<String>,
    pub push_events: bool,
    pub tag_push_events: bool,
    pub merge_requests_events: bool,
    pub pipeline_events: bool,
    pub job_events: bool,
}

/// Read access to the simulated GitLab. Cheap to clone; always shows the current state.
#[derive(Clone)]
pub struct WorldView {
    shared: Arc<Shared>,
}

impl WorldView {
    pub(crate) fn new(shared: Arc<Shared>) -> WorldView {
        WorldView { shared }
    }

    fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        self.shared.with_world(|world| f(world))
    }

    /// The project id of a path, if it exists.
    fn id(world: &World, project: &str) -> Option<u64> {
        world.find_project(project).ok()
    }

    /// The API requests answered so far (after authentication; injected faults not counted).
    pub fn api_requests(&self) -> ApiRequestCounts {
        self.read(|w| w.api_requests.clone())
    }

    pub fn projects(&self) -> Vec<ProjectInfo> {
        self.read(|w| w.projects.iter().map(|p| project_info(w, p.id)).collect())
    }

    pub fn project(&self, project: &str) -> Option<ProjectInfo> {
        self.read(|w| Self::id(w, project).map(|id| project_info(w, id)))
    }

    /// A file's content at a branch, tag or commit.
    pub fn file(&self, project: &str, reference: &str, path: &str) -> Option<String> {
        self.read(|w| {
            let id = Self::id(w, project)?;
            let sha = w.resolve_ref(id, reference)?;
            w.commits[&sha].files.get(path).cloned()
        })
    }

    pub fn branch_head(&self, project: &str, branch: &str) -> Option<String> {
        self.read(|w| {
            Self::id(w, project).and_then(|id| w.project(id).branches.get(branch).cloned())
        })
    }

    /// Every commit reachable from the branch, newest first (empty for an unknown branch).
    pub fn commits(&self, project: &str, branch: &str) -> Vec<CommitInfo> {
        self.read(|w| {
            let Some(head) =
                Self::id(w, project).and_then(|id| w.project(id).branches.get(branch).cloned())
            else {
                return Vec::new();
            };
            w.history(&head)
                .iter()
                .map(|c| CommitInfo {
                    sha: c.sha.clone(),
                    message: c.message.clone(),
                    parents: c.parents.clone(),
                })
                .collect()
        })
    }

    /// The number of commits reachable from the branch.
    pub fn commit_count(&self, project: &str, branch: &str) -> usize {
        self.commits(project, branch).len()
    }

    /// Whether `branch`'s head is contained in `into`.
    pub fn is_merged(&self, project: &str, branch: &str, into: &str) -> bool {
        self.read(|w| {
            let Some(id) = Self::id(w, project) else {
                return false;
            };
            let p = w.project(id);
            match (p.branches.get(branch), p.branches.get(into)) {
                (Some(head), Some(target)) => w.ancestors(target).contains(head),
                _ => false,
            }
        })
    }

    /// All merge requests of a project, oldest first.
    pub fn merge_requests(&self, project: &str) -> Vec<MergeRequestInfo> {
        self.read(|w| {
            let Some(id) = Self::id(w, project) else {
                return Vec::new();
            };
            w.merge_requests
                .iter()
                .filter(|mr| mr.project_id == id)
                .map(|mr| MergeRequestInfo {
                    iid: mr.iid,
                    title: mr.title.clone(),
                    source_branch: mr.source_branch.clone(),
                    target_branch: mr.target_branch.clone(),
                    state: mr.state.as_str().to_string(),
                    merge_count: mr.merge_count,
                    merge_commit_sha: mr.merge_commit_sha.clone(),
                    auto_merge: mr.auto_merge,
                    head_pipeline: mr.head_pipeline_id,
                    sha: w.merge_request_sha(mr.id),
                    force_remove_source_branch: mr.force_remove_source_branch,
                    description: mr.description.clone(),
                    assignee_ids: mr.assignee_ids.clone(),
                })
                .collect()
        })
    }

    /// Every merge in a project, in order.
    pub fn merges(&self, project: &str) -> Vec<MergeInfo> {
        self.read(|w| {
            let Some(id) = Self::id(w, project) else {
                return Vec::new();
            };
            w.merges
                .iter()
                .filter(|m| m.project_id == id)
                .map(|m| MergeInfo {
                    iid: m.iid,
                    sha: m.sha.clone(),
                    head_pipeline: m.head_pipeline,
                    head_pipeline_sha: m.head_pipeline_sha.clone(),
                    head_pipeline_status: m.head_pipeline_status.map(|s| s.as_str().to_string()),
                    by_auto_merge: m.by_auto_merge,
                })
                .collect()
        })
    }

    /// The `detailed_merge_status` of a merge request now.
    pub fn detailed_merge_status(&self, project: &str, iid: u64) -> Option<String> {
        self.read(|w| {
            let id = Self::id(w, project)?;
            let mr = w.find_merge_request(id, iid).ok()?;
            Some(w.detailed_merge_status(mr).to_string())
        })
    }

    /// The merge requests from `source` into `target`.
    pub fn merge_requests_between(
        &self,
        project: &str,
        source: &str,
        target: &str,
    ) -> Vec<MergeRequestInfo> {
        self.merge_requests(project)
            .into_iter()
            .filter(|mr| mr.source_branch == source && mr.target_branch == target)
            .collect()
    }

    pub fn tags(&self, project: &str) -> Vec<TagInfo> {
        self.read(|w| {
            let Some(id) = Self::id(w, project) else {
                return Vec::new();
            };
            w.project(id)
                .tags
                .keys()
                .map(|name| tag_info(w, id, name))
                .collect()
        })
    }

    pub fn tag(&self, project: &str, name: &str) -> Option<TagInfo> {
        self.read(|w| {
            let id = Self::id(w, project)?;
            w.project(id)
                .tags
                .contains_key(name)
                .then(|| tag_info(w, id, name))
        })
    }

    /// Whether `version` of the project is released (tag pipeline succeeded).
    pub fn is_released(&self, project: &str, version: &str) -> bool {
        self.read(|w| Self::id(w, project).is_some_and(|id| w.is_released(id, version)))
    }

    /// All pipelines of a project, oldest first.
    pub fn pipelines(&self, project: &str) -> Vec<PipelineInfo> {
        self.read(|w| {
            let Some(id) = Self::id(w, project) else {
                return Vec::new();
            };
            w.pipelines
                .iter()
                .filter(|p| p.project_id == id)
                .map(|p| pipeline_info(w, p.id))
                .collect()
        })
    }

    /// The pipelines of one ref (branch, tag or MR ref), oldest first.
    pub fn pipelines_for_ref(&self, project: &str, reference: &str) -> Vec<PipelineInfo> {
        self.pipelines(project)
            .into_iter()
            .filter(|p| p.reference == reference)
            .collect()
    }

    pub fn latest_pipeline(&self, project: &str, reference: &str) -> Option<PipelineInfo> {
        self.pipelines_for_ref(project, reference).pop()
    }

    /// The notes of merge request `iid`, oldest first (none if there is no such merge request).
    pub fn merge_request_notes(&self, project: &str, iid: u64) -> Vec<NoteInfo> {
        self.read(|w| {
            let Some(mr) = Self::id(w, project).and_then(|id| w.find_merge_request(id, iid).ok())
            else {
                return Vec::new();
            };
            w.notes_of(mr)
                .into_iter()
                .map(|n| NoteInfo {
                    id: n.id,
                    body: n.body.clone(),
                    system: n.system,
                    edits: n.edits,
                })
                .collect()
        })
    }

    pub fn hooks(&self, project: &str) -> Vec<HookInfo> {
        self.read(|w| {
            let Some(id) = Self::id(w, project) else {
                return Vec::new();
            };
            w.hooks
                .iter()
                .filter(|h| h.project_id == id)
                .map(|h| HookInfo {
                    id: h.id,
                    url: h.params.url.clone(),
                    token: h.params.token.clone(),
                    push_events: h.params.push_events,
                    tag_push_events: h.params.tag_push_events,
                    merge_requests_events: h.params.merge_requests_events,
                    pipeline_events: h.params.pipeline_events,
                    job_events: h.params.job_events,
                })
                .collect()
        })
    }

    /// Every webhook delivery attempt so far (dropped ones included), in order.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The deliveries a receiver accepted, for one `X-Gitlab-Event` (e.g. `Pipeline Hook`).
    pub fn delivered_webhooks(&self, event: &str) -> Vec<WebhookDelivery> {
        self.webhook_deliveries()
            .into_iter()
            .filter(|d| d.event == event && matches!(d.outcome, DeliveryOutcome::Delivered(_)))
            .collect()
    }

    /// Polls `check` until it holds or `timeout` passes; returns whether it held. For "eventually"
    /// assertions in tests.
    pub async fn eventually(&self, timeout: Duration, check: impl Fn(&WorldView) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if check(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn project_info(world: &World, id: u64) -> ProjectInfo {
    let p = world.project(id);
    ProjectInfo {
        id,
        path: p.path.clone(),
        default_branch: p.default_branch.clone(),
        branches: p.branches.keys().cloned().collect(),
        pod_name: world.pod_name(id),
    }
}

fn tag_info(world: &World, project: u64, name: &str) -> TagInfo {
    let tag = &world.project(project).tags[name];
    TagInfo {
        name: tag.name.clone(),
        commit: tag.commit.clone(),
        message: tag.message.clone(),
        released: world.is_released(project, name),
    }
}

fn pipeline_info(world: &World, id: u64) -> PipelineInfo {
    let p = world.pipeline(id);
    PipelineInfo {
        id: p.id,
        reference: p.ref_.clone(),
        sha: p.sha.clone(),
        tag: p.tag,
        status: p.status.as_str().to_string(),
        source: p.source.clone(),
        jobs: p
            .jobs
            .iter()
            .map(|j| {
                let job = world.job(*j);
                JobInfo {
                    id: job.id,
                    name: job.name.clone(),
                    stage: job.stage.clone(),
                    status: job.status.as_str().to_string(),
                    log: job.log.clone(),
                    retried: job.retried,
                }
            })
            .collect(),
    }
}
