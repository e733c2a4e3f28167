//! GitLab webhook payloads (Merge Request, Pipeline, Tag Push, Push and Job hooks) into
//! [`ForgeEvent`]s, read leniently: only the fields that identify the object are required
//! (the project, the id, the ref); the rest default when an older or newer GitLab leaves them
//! out. Unknown fields are ignored and unknown status values become `PipelineStatus::Other`.
//! Checking `X-Gitlab-Token` is the receiver's job (a plain string comparison, in constant time).

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::models::{parse_merge_request_state, seconds, status};
use crate::events::ForgeEvent;
use crate::types::PipelineStatus;

/// The value of `after` (or `before`) when a ref is deleted (or created).
const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// A webhook body Convoy cannot read. The message is a sentence for the sender's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the {event} payload is not valid JSON or lacks a field Convoy needs: {reason}")]
    Malformed { event: String, reason: String },
    #[error("the {event} payload has {field} {value:?}, which Convoy cannot read")]
    InvalidField {
        event: String,
        field: &'static str,
        value: String,
    },
}

/// Parses one delivery. `event_header` is the `X-Gitlab-Event` header. `Ok(None)` for the
/// events Convoy does not use (Issue Hook, Note Hook, …).
pub fn parse_webhook(event_header: &str, body: &[u8]) -> Result<Option<ForgeEvent>, WebhookError> {
    let event = event_header.trim();
    let parsed = match event {
        "Merge Request Hook" => merge_request(read(event, body)?),
        "Pipeline Hook" => pipeline(read(event, body)?),
        "Tag Push Hook" => tag_push(event, read(event, body)?)?,
        "Push Hook" => push(event, read(event, body)?)?,
        // Older GitLab versions sent job events under their old name, "Build Hook" (from
        // the hook's former `build_events` option); the payload is the same.
        "Job Hook" | "Build Hook" => job(event, read(event, body)?)?,
        _ => return Ok(None),
    };
    Ok(Some(parsed))
}

fn read<T: DeserializeOwned>(event: &str, body: &[u8]) -> Result<T, WebhookError> {
    serde_json::from_slice(body).map_err(|e| WebhookError::Malformed {
        event: event.to_owned(),
        reason: e.to_string(),
    })
}

#[derive(Debug, Deserialize)]
struct ProjectJson {
    path_with_namespace: String,
}

#[derive(Debug, Deserialize)]
struct MergeRequestHook {
    project: ProjectJson,
    object_attributes: MergeRequestAttributes,
}

#[derive(Debug, Deserialize)]
struct MergeRequestAttributes {
    iid: u64,
    /// Missing is read like an unknown state: Convoy asks GitLab for the merge request.
    #[serde(default)]
    state: String,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    source_branch: String,
    #[serde(default)]
    target_branch: String,
    #[serde(default)]
    merge_commit_sha: Option<String>,
}

fn merge_request(hook: MergeRequestHook) -> ForgeEvent {
    let a = hook.object_attributes;
    ForgeEvent::MergeRequest {
        project: hook.project.path_with_namespace,
        iid: a.iid,
        state: parse_merge_request_state(&a.state),
        action: a.action,
        source_branch: a.source_branch,
        target_branch: a.target_branch,
        merge_commit_sha: a.merge_commit_sha.filter(|s| !s.is_empty()),
    }
}

#[derive(Debug, Deserialize)]
struct PipelineHook {
    project: ProjectJson,
    object_attributes: PipelineAttributes,
    #[serde(default)]
    merge_request: Option<MergeRequestRef>,
    #[serde(default)]
    builds: Vec<BuildJson>,
}

#[derive(Debug, Deserialize)]
struct PipelineAttributes {
    id: u64,
    #[serde(deserialize_with = "status")]
    status: PipelineStatus,
    #[serde(rename = "ref", default)]
    git_ref: String,
    #[serde(default)]
    tag: bool,
    #[serde(default)]
    sha: String,
    #[serde(default, deserialize_with = "seconds")]
    duration: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct MergeRequestRef {
    iid: u64,
}

#[derive(Debug, Deserialize)]
struct BuildJson {
    #[serde(default)]
    name: String,
    #[serde(deserialize_with = "status")]
    status: PipelineStatus,
}

fn pipeline(hook: PipelineHook) -> ForgeEvent {
    let a = hook.object_attributes;
    ForgeEvent::Pipeline {
        project: hook.project.path_with_namespace,
        pipeline_id: a.id,
        status: a.status,
        git_ref: a.git_ref,
        is_tag: a.tag,
        sha: a.sha,
        merge_request_iid: hook.merge_request.map(|mr| mr.iid),
        failed_jobs: hook
            .builds
            .into_iter()
            .filter(|b| b.status == PipelineStatus::Failed)
            .map(|b| b.name)
            .collect(),
        duration: a.duration,
    }
}

#[derive(Debug, Deserialize)]
struct PushHook {
    project: ProjectJson,
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    after: String,
    /// The commit checked out: for an annotated tag, the tagged commit, while `after` is the
    /// tag object (`Gitlab::DataBuilder::Push`). Null when the ref was deleted.
    #[serde(default)]
    checkout_sha: Option<String>,
    #[serde(default)]
    commits: Vec<CommitJson>,
}

#[derive(Debug, Deserialize)]
struct CommitJson {
    #[serde(default)]
    message: String,
}

fn tag_push(event: &str, hook: PushHook) -> Result<ForgeEvent, WebhookError> {
    let tag = strip_ref(event, &hook.git_ref, "refs/tags/")?;
    let deleted = hook.after == ZERO_SHA;
    let sha = (!deleted).then(|| hook.checkout_sha.unwrap_or(hook.after));
    Ok(ForgeEvent::TagPush {
        project: hook.project.path_with_namespace,
        tag,
        sha,
    })
}

fn push(event: &str, hook: PushHook) -> Result<ForgeEvent, WebhookError> {
    let branch = strip_ref(event, &hook.git_ref, "refs/heads/")?;
    Ok(ForgeEvent::Push {
        project: hook.project.path_with_namespace,
        branch,
        after: hook.after,
        commit_messages: hook.commits.into_iter().map(|c| c.message).collect(),
    })
}

fn strip_ref(event: &str, git_ref: &str, prefix: &str) -> Result<String, WebhookError> {
    match git_ref.strip_prefix(prefix) {
        Some(name) if !name.is_empty() => Ok(name.to_owned()),
        _ => Err(WebhookError::InvalidField {
            event: event.to_owned(),
            field: "ref",
            value: git_ref.to_owned(),
        }),
    }
}

#[derive(Debug, Deserialize)]
struct JobHook {
    #[serde(default)]
    project: Option<ProjectJson>,
    /// Older payloads name the project only here (its full path).
    #[serde(default)]
    project_name: Option<String>,
    /// Absent in the job events of older GitLab versions.
    #[serde(default)]
    pipeline_id: Option<u64>,
    build_id: u64,
    #[serde(default)]
    build_name: String,
    #[serde(default)]
    build_stage: String,
    #[serde(deserialize_with = "status")]
    build_status: PipelineStatus,
    #[serde(default)]
    build_failure_reason: Option<String>,
}

fn job(event: &str, hook: JobHook) -> Result<ForgeEvent, WebhookError> {
    let project = hook
        .project
        .map(|p| p.path_with_namespace)
        .or(hook.project_name)
        .ok_or_else(|| WebhookError::Malformed {
            event: event.to_owned(),
            reason: "missing field `project`".to_owned(),
        })?;
    Ok(ForgeEvent::Job {
        project,
        pipeline_id: hook.pipeline_id,
        job_id: hook.build_id,
        name: hook.build_name,
        stage: hook.build_stage,
        status: hook.build_status,
        failure_reason: hook.build_failure_reason.filter(|r| !r.is_empty()),
    })
}
