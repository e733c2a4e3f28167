//! What a forge tells Convoy through webhooks, in domain words.

use serde::{Deserialize, Serialize};

use crate::types::{MergeRequestState, PipelineStatus};

/// One webhook delivery, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ForgeEvent {
    MergeRequest {
        project: String,
        iid: u64,
        state: MergeRequestState,
        /// `open`, `update`, `merge`, `close`, … (unknown values kept as they are).
        action: Option<String>,
        source_branch: String,
        target_branch: String,
        merge_commit_sha: Option<String>,
    },
    Pipeline {
        project: String,
        pipeline_id: u64,
        status: PipelineStatus,
        git_ref: String,
        is_tag: bool,
        sha: String,
        merge_request_iid: Option<u64>,
        /// Jobs that failed, by name.
        failed_jobs: Vec<String>,
        duration: Option<u64>,
    },
    TagPush {
        project: String,
        tag: String,
        /// The commit the tag points at; `None` when the tag was deleted.
        sha: Option<String>,
    },
    Push {
        project: String,
        branch: String,
        after: String,
        commit_messages: Vec<String>,
    },
    Job {
        project: String,
        /// `None` when an older GitLab did not say.
        pipeline_id: Option<u64>,
        job_id: u64,
        name: String,
        stage: String,
        status: PipelineStatus,
        failure_reason: Option<String>,
    },
}

impl ForgeEvent {
    /// The project path the event is about.
    pub fn project(&self) -> &str {
        match self {
            ForgeEvent::MergeRequest { project, .. }
            | ForgeEvent::Pipeline { project, .. }
            | ForgeEvent::TagPush { project, .. }
            | ForgeEvent::Push { project, .. }
            | ForgeEvent::Job { project, .. } => project,
        }
    }
}
