//! The forge's objects, in domain words.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: u64,
    pub path: String,
    pub default_branch: String,
    pub web_url: String,
    /// How merge requests merge: `merge`, `rebase_merge` or `ff`.
    pub merge_method: String,
    /// "Pipelines must succeed": without it GitLab lets a merge request merge whose pipeline
    /// did not pass.
    pub only_allow_merge_if_pipeline_succeeds: bool,
    /// "Skipped pipelines are considered successful".
    pub allow_merge_on_skipped_pipeline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContent {
    pub path: String,
    /// The file's text (UTF-8; manifests are text).
    pub content: String,
    /// The commit that last changed the file: pass it back to update it safely.
    pub last_commit_id: String,
}

/// A change to one file that must not clobber a newer version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUpdate {
    pub project: String,
    pub file_path: String,
    pub branch: String,
    pub content: String,
    pub commit_message: String,
    pub last_commit_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    pub name: String,
    pub commit_sha: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeRequestState {
    Opened,
    Closed,
    Merged,
    Locked,
}

impl MergeRequestState {
    /// GitLab's name of the state (`opened`, `closed`, `merged`, `locked`), as Convoy stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeRequestState::Opened => "opened",
            MergeRequestState::Closed => "closed",
            MergeRequestState::Merged => "merged",
            MergeRequestState::Locked => "locked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeRequest {
    pub iid: u64,
    pub state: MergeRequestState,
    pub source_branch: String,
    pub target_branch: String,
    pub web_url: String,
    /// Head commit of the source branch.
    pub sha: Option<String>,
    pub merge_commit_sha: Option<String>,
    /// True when set to merge when the pipeline succeeds.
    pub auto_merge: bool,
    /// The pipeline GitLab has linked as the head pipeline. It is linked some time after a
    /// pipeline is created, so it can still be an older one (check its `sha`) or none.
    pub head_pipeline: Option<Pipeline>,
    /// GitLab's `detailed_merge_status` (`mergeable`, `checking`, `conflict`, `need_rebase`,
    /// `ci_still_running`, `discussions_not_resolved`, ...), when it reports one.
    pub detailed_merge_status: Option<String>,
}

/// A pipeline status; anything the forge adds later is `Other` and counts as not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    Created,
    WaitingForResource,
    Preparing,
    Pending,
    Running,
    Success,
    Failed,
    Canceled,
    Skipped,
    Manual,
    Scheduled,
    #[serde(untagged)]
    Other(String),
}

impl PipelineStatus {
    /// Reads a status string; unknown values never fail.
    pub fn parse(text: &str) -> PipelineStatus {
        serde_json::from_value(serde_json::Value::String(text.to_owned()))
            .unwrap_or_else(|_| PipelineStatus::Other(text.to_owned()))
    }

    /// Success, failed, canceled or skipped: the pipeline will not change by itself.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Success | Self::Failed | Self::Canceled | Self::Skipped
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub id: u64,
    pub status: PipelineStatus,
    /// Branch or tag name.
    pub git_ref: String,
    pub sha: String,
    pub web_url: String,
    /// Seconds the pipeline ran, once finished.
    pub duration: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    pub name: String,
    pub stage: String,
    pub status: PipelineStatus,
    pub web_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    /// The commit the tag points at.
    pub commit_sha: String,
    /// The message of that commit (a `[ci skip]` commit gets no tag pipeline by itself).
    pub commit_message: String,
    /// The tag's own message (annotated tags).
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub id: u64,
    pub url: String,
}

/// A merge request to open: from `source` into `target`, assigned to `assignee_ids`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMergeRequest {
    pub project: String,
    pub source: String,
    pub target: String,
    pub title: String,
    pub description: String,
    /// Forge user ids (see [`crate::Forge::user`]); empty: nobody is assigned.
    pub assignee_ids: Vec<u64>,
}

/// A person on the forge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub username: String,
}

/// A commit of a branch's history, as far as owners need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    pub id: String,
    /// The whole message; its first line is the title.
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// More than one parent: a merge commit, made by whoever merged.
    pub is_merge: bool,
}

/// A comment on a merge request (GitLab: a note), as Convoy writes and finds its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub id: u64,
    pub body: String,
    /// A note the forge wrote itself ("merged", "added 1 commit"), never Convoy's.
    pub system: bool,
}
