//! What the store reads and writes, in the product's words.

use chrono::{DateTime, Utc};
use convoy_core::notices::Mention;
use convoy_core::{ComponentState, MainReleaseState};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// A request to start a main release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMainRelease {
    pub app_project: String,
    pub app_ref: String,
    pub started_by: String,
    pub require_review: bool,
}

/// Who or what causes a change, and why. Recorded in the release event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub actor: String,
    pub reason: Option<String>,
    /// Why the owners must act on this change of a component, if they must.
    pub mention: Option<Mention>,
}

impl Change {
    /// A change made by `actor` (a user name, or `worker`, `webhook`, …), no reason given.
    pub fn by(actor: impl Into<String>) -> Change {
        Change {
            actor: actor.into(),
            reason: None,
            mention: None,
        }
    }

    /// The same change, with the reason a person reads in the log.
    pub fn because(self, reason: impl Into<String>) -> Change {
        Change {
            reason: Some(reason.into()),
            ..self
        }
    }
}

/// A coordinated release of one app at one ref.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MainRelease {
    pub id: i64,
    pub app_project: String,
    pub app_ref: String,
    pub state: MainReleaseState,
    pub require_review: bool,
    pub manifest_path: Option<String>,
    /// The commit the manifest was last changed in when Convoy read it (no clobbering).
    pub manifest_commit_id: Option<String>,
    pub reason: Option<String>,
    pub started_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A main release with its progress, for lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MainReleaseSummary {
    pub release: MainRelease,
    pub components_total: u64,
    /// Components in state success.
    pub components_released: u64,
}

/// The release of one component (sub-release) within a main release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentRelease {
    pub id: i64,
    pub release_id: i64,
    pub name: String,
    /// Position in the plan's topological order.
    pub position: i64,
    pub project_path: String,
    pub git_url: String,
    pub branch: String,
    pub target_branch: Option<String>,
    pub podspec_path: Option<String>,
    pub podspec_version: Option<String>,
    pub default_version: Option<String>,
    pub version: Option<String>,
    pub state: ComponentState,
    pub reviewed: bool,
    /// Convoy requested the merge or created the tag for the current attempt.
    pub acted: bool,
    /// The CI config read when the component was prepared runs no job in a merge request
    /// pipeline: Convoy asks for a branch pipeline first.
    pub no_merge_request_jobs: bool,
    pub reason: Option<String>,
    pub merge_request_iid: Option<u64>,
    pub pipeline_id: Option<u64>,
    pub tag_name: Option<String>,
    pub released_by: Option<String>,
    /// The GitLab usernames who must act when the component needs a person: `None` until the
    /// worker resolved them, empty for "no owner".
    pub owners: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What Convoy knows of a merge request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRequestRecord {
    pub project_path: String,
    pub iid: u64,
    pub source_branch: String,
    pub target_branch: String,
    pub state: String,
    pub web_url: String,
    pub auto_merge: bool,
}

/// Whether a pipeline runs for a merge request or for a version tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineKind {
    MergeRequest,
    Tag,
}

impl PipelineKind {
    /// The name it is stored under: `merge_request` or `tag`.
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineKind::MergeRequest => "merge_request",
            PipelineKind::Tag => "tag",
        }
    }

    pub(crate) fn parse(name: &str) -> Result<PipelineKind, StoreError> {
        match name {
            "merge_request" => Ok(PipelineKind::MergeRequest),
            "tag" => Ok(PipelineKind::Tag),
            other => Err(StoreError::Corrupt(format!(
                "unknown pipeline kind {other:?}"
            ))),
        }
    }
}

/// What Convoy knows of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRecord {
    pub project_path: String,
    pub pipeline_id: u64,
    pub kind: PipelineKind,
    pub git_ref: String,
    pub sha: String,
    pub status: String,
    pub web_url: String,
    pub failed_job: Option<String>,
    /// The tail of the failing job's log.
    pub failure_log: Option<String>,
    /// In seconds, once finished.
    pub duration: Option<u64>,
}

/// A version tag Convoy created or found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagRecord {
    pub project_path: String,
    pub name: String,
    pub sha: String,
}

/// An entry to append to the release event log (a note, a failure detail, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub release_id: i64,
    /// The component name is filled in from its row.
    pub component_id: Option<i64>,
    pub actor: String,
    pub kind: String,
    pub reason: Option<String>,
}

/// One entry of the append-only release event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseEvent {
    pub id: i64,
    pub release_id: i64,
    pub component_id: Option<i64>,
    pub component_name: Option<String>,
    pub actor: String,
    /// `created`, `state`, `planned`, `version_changed`, `reviewed`, `unreviewed`, `note`, …
    pub kind: String,
    /// For `state` events: the lowercase state names.
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A webhook delivery to record before answering the forge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDelivery {
    /// Idempotency-Key, else the forge's event UUID, else a hash of the body.
    pub idempotency_key: String,
    pub event_name: String,
    pub project_path: Option<String>,
    pub payload: String,
}

/// A delivery waiting to be routed: what the worker's delivery loop needs of it (not its
/// payload).
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingDelivery {
    pub id: i64,
    pub event_name: String,
    pub project_path: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// A recorded webhook delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: i64,
    pub idempotency_key: String,
    pub event_name: String,
    pub project_path: Option<String>,
    pub payload: String,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}
