//! Project hooks and the webhook payloads GitLab sends, shaped like
//! `shared/fixtures/gitlab/webhook-*.json`. Events become deliveries in the world's outbox; the
//! delivery task (`crate::hooks`) sends them.

use chrono::Utc;
use serde_json::{Value, json};

use super::{
    Hook, MrState, USER_EMAIL, USER_ID, USER_NAME, USER_USERNAME, World, api_time, hook_time,
};
use crate::error::ApiError;

/// The settings of a project hook, as the hooks API takes and shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct HookParams {
    pub url: String,
    pub token: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub push_events: bool,
    pub tag_push_events: bool,
    pub merge_requests_events: bool,
    pub pipeline_events: bool,
    pub job_events: bool,
    pub enable_ssl_verification: bool,
}

/// The events a hook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HookEvent {
    Push,
    TagPush,
    MergeRequest,
    Pipeline,
    Job,
}

impl HookEvent {
    /// The `X-Gitlab-Event` header.
    pub fn header(self) -> &'static str {
        match self {
            HookEvent::Push => "Push Hook",
            HookEvent::TagPush => "Tag Push Hook",
            HookEvent::MergeRequest => "Merge Request Hook",
            HookEvent::Pipeline => "Pipeline Hook",
            HookEvent::Job => "Job Hook",
        }
    }

    fn wanted_by(self, params: &HookParams) -> bool {
        match self {
            HookEvent::Push => params.push_events,
            HookEvent::TagPush => params.tag_push_events,
            HookEvent::MergeRequest => params.merge_requests_events,
            HookEvent::Pipeline => params.pipeline_events,
            HookEvent::Job => params.job_events,
        }
    }
}

/// One webhook POST to make (retries reuse it, so the keys stay the same).
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub hook_id: u64,
    pub project_path: String,
    pub url: String,
    pub token: Option<String>,
    pub event: &'static str,
    /// The JSON body, serialized once (a wide release sends tens of thousands of deliveries,
    /// and the delivery log keeps each).
    pub payload: std::sync::Arc<str>,
    pub idempotency_key: String,
    pub event_uuid: String,
    pub webhook_uuid: String,
}

impl World {
    pub fn add_hook(&mut self, project_id: u64, params: HookParams) -> u64 {
        let id = self.next_hook_id;
        self.next_hook_id += 1;
        let uuid = uuid::Uuid::new_v4().to_string();
        self.hooks.push(Hook {
            id,
            project_id,
            uuid,
            params,
            created_at: Utc::now(),
        });
        id
    }

    pub fn find_hook(&self, project_id: u64, hook_id: u64) -> Result<usize, ApiError> {
        self.hooks
            .iter()
            .position(|h| h.project_id == project_id && h.id == hook_id)
            .ok_or_else(|| ApiError::not_found("Hook"))
    }

    pub fn delete_hook(&mut self, project_id: u64, hook_id: u64) -> Result<(), ApiError> {
        let index = self.find_hook(project_id, hook_id)?;
        self.hooks.remove(index);
        Ok(())
    }

    /// Queues a delivery of this event to every hook of the project that wants it.
    fn emit(&mut self, project_id: u64, event: HookEvent, payload: Value) {
        let event_uuid = uuid::Uuid::new_v4().to_string();
        let project_path = self.project(project_id).path.clone();
        let payload: std::sync::Arc<str> = payload.to_string().into();
        let deliveries: Vec<Delivery> = self
            .hooks
            .iter()
            .filter(|hook| hook.project_id == project_id && event.wanted_by(&hook.params))
            .map(|hook| Delivery {
                hook_id: hook.id,
                project_path: project_path.clone(),
                url: hook.params.url.clone(),
                token: hook.params.token.clone(),
                event: event.header(),
                payload: payload.clone(),
                idempotency_key: uuid::Uuid::new_v4().to_string(),
                event_uuid: event_uuid.clone(),
                webhook_uuid: hook.uuid.clone(),
            })
            .collect();
        self.outbox.extend(deliveries);
    }

    fn wants(&self, project_id: u64, event: HookEvent) -> bool {
        self.hooks
            .iter()
            .any(|hook| hook.project_id == project_id && event.wanted_by(&hook.params))
    }

    /// The `project` object of webhook payloads.
    pub fn hook_project(&self, project_id: u64) -> Value {
        let project = self.project(project_id);
        let web_url = self.web_url(project_id);
        let host = self
            .base_url
            .trim_start_matches("http://")
            .trim_start_matches("https://");
        json!({
            "id": project.id,
            "name": project.name(),
            "description": "",
            "web_url": web_url,
            "avatar_url": null,
            "git_ssh_url": format!("git@{host}:{}.git", project.path),
            "git_http_url": format!("{web_url}.git"),
            "namespace": project.namespace(),
            "visibility_level": 20,
            "path_with_namespace": project.path,
            "default_branch": project.default_branch,
            "ci_config_path": "",
            "homepage": web_url,
            "url": format!("{web_url}.git"),
            "ssh_url": format!("git@{host}:{}.git", project.path),
            "http_url": format!("{web_url}.git"),
        })
    }

    fn hook_repository(&self, project_id: u64) -> Value {
        let project = self.project(project_id);
        let web_url = self.web_url(project_id);
        json!({
            "name": project.name(),
            "url": format!("{web_url}.git"),
            "description": "",
            "homepage": web_url,
            "git_http_url": format!("{web_url}.git"),
            "git_ssh_url": format!("git@sim:{}.git", project.path),
            "visibility_level": 20,
        })
    }

    fn hook_user() -> Value {
        json!({ "id": USER_ID, "name": USER_NAME, "username": USER_USERNAME, "avatar_url": null, "email": USER_EMAIL })
    }

    /// A commit as webhooks show it (`commits[]`, `last_commit`, `commit`).
    fn hook_commit(&self, project_id: u64, sha: &str) -> Value {
        let commit = &self.commits[sha];
        let parent_files = commit.parents.first().map(|p| &self.commits[p].files);
        let mut added = Vec::new();
        let mut modified = Vec::new();
        for (path, content) in &commit.files {
            match parent_files.and_then(|files| files.get(path)) {
                None => added.push(path.clone()),
                Some(old) if old != content => modified.push(path.clone()),
                Some(_) => {}
            }
        }
        let removed: Vec<&String> = parent_files
            .map(|files| {
                files
                    .keys()
                    .filter(|p| !commit.files.contains_key(*p))
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "id": commit.sha,
            "message": commit.message,
            "title": commit.title(),
            "timestamp": commit.created_at.to_rfc3339(),
            "url": format!("{}/-/commit/{}", self.web_url(project_id), commit.sha),
            "author": { "name": commit.author_name, "email": commit.author_email },
            "added": added,
            "modified": modified,
            "removed": removed,
        })
    }

    pub fn emit_push(
        &mut self,
        project_id: u64,
        branch: &str,
        before: Option<&str>,
        after: &str,
        new_commits: &[String],
    ) {
        if !self.wants(project_id, HookEvent::Push) {
            return;
        }
        let mut ordered: Vec<&super::Commit> = new_commits
            .iter()
            .filter_map(|sha| self.commits.get(sha))
            .collect();
        ordered.sort_by_key(|c| c.created_at);
        let commits: Vec<Value> = ordered
            .iter()
            .rev()
            .take(20)
            .rev()
            .map(|c| self.hook_commit(project_id, &c.sha))
            .collect();
        let payload = json!({
            "object_kind": "push",
            "event_name": "push",
            "before": before.map(str::to_string).unwrap_or_else(|| "0".repeat(40)),
            "after": after,
            "ref": format!("refs/heads/{branch}"),
            "ref_protected": branch == self.project(project_id).default_branch,
            // A deleted branch has no commit to check out.
            "checkout_sha": (after != "0".repeat(40)).then_some(after),
            "message": null,
            "user_id": USER_ID,
            "user_name": USER_NAME,
            "user_username": USER_USERNAME,
            "user_email": USER_EMAIL,
            "user_avatar": null,
            "project_id": project_id,
            "project": self.hook_project(project_id),
            "repository": self.hook_repository(project_id),
            "commits": commits,
            "total_commits_count": new_commits.len(),
        });
        self.emit(project_id, HookEvent::Push, payload);
    }

    pub fn emit_tag_push(&mut self, project_id: u64, tag: &str, sha: &str) {
        if !self.wants(project_id, HookEvent::TagPush) {
            return;
        }
        // An annotated tag's push names the tag object in `after` and the commit in
        // `checkout_sha` (Git::TagPushService / Gitlab::DataBuilder::Push).
        let after = self
            .project(project_id)
            .tags
            .get(tag)
            .and_then(|t| t.object_sha.clone())
            .unwrap_or_else(|| sha.to_string());
        let payload = json!({
            "object_kind": "tag_push",
            "event_name": "tag_push",
            "before": "0".repeat(40),
            "after": after,
            "ref": format!("refs/tags/{tag}"),
            "ref_protected": false,
            "checkout_sha": sha,
            "message": self.project(project_id).tags.get(tag).and_then(|t| t.message.clone()),
            "user_id": USER_ID,
            "user_name": USER_NAME,
            "user_username": USER_USERNAME,
            "user_email": USER_EMAIL,
            "user_avatar": null,
            "project_id": project_id,
            "project": self.hook_project(project_id),
            "repository": self.hook_repository(project_id),
            "commits": [],
            "total_commits_count": 0,
        });
        self.emit(project_id, HookEvent::TagPush, payload);
    }

    pub fn emit_merge_request(&mut self, mr_id: u64, action: &str) {
        let mr = self.merge_request(mr_id);
        let project_id = mr.project_id;
        if !self.wants(project_id, HookEvent::MergeRequest) {
            return;
        }
        let sha = self.merge_request_sha(mr_id).unwrap_or_default();
        let project = self.hook_project(project_id);
        let changes = match action {
            "merge" => {
                json!({ "state_id": { "previous": 1, "current": 3 }, "updated_at": { "previous": null, "current": hook_time(&mr.updated_at) } })
            }
            _ => json!({}),
        };
        let state_id = match mr.state {
            MrState::Opened => 1,
            MrState::Closed => 2,
            MrState::Merged => 3,
        };
        let last_commit = if self.commits.contains_key(&sha) {
            self.hook_commit(project_id, &sha)
        } else {
            Value::Null
        };
        let payload = json!({
            "object_kind": "merge_request",
            "event_type": "merge_request",
            "user": World::hook_user(),
            "project": project,
            "repository": self.hook_repository(project_id),
            "object_attributes": {
                "id": mr.id,
                "iid": mr.iid,
                "target_branch": mr.target_branch,
                "source_branch": mr.source_branch,
                "source_project_id": project_id,
                "target_project_id": project_id,
                "author_id": USER_ID,
                "assignee_ids": [],
                "reviewer_ids": [],
                "title": mr.title,
                "description": mr.description,
                "created_at": hook_time(&mr.created_at),
                "updated_at": hook_time(&mr.updated_at),
                "merged_at": mr.merged_at.as_ref().map(hook_time),
                "state_id": state_id,
                "state": mr.state.as_str(),
                "blocking_discussions_resolved": true,
                "work_in_progress": false,
                "draft": false,
                "merge_status": if self.has_conflict(mr_id) && mr.state == MrState::Opened { "cannot_be_merged" } else { "can_be_merged" },
                "detailed_merge_status": self.detailed_merge_status(mr_id),
                "merge_commit_sha": mr.merge_commit_sha,
                "merge_when_pipeline_succeeds": mr.auto_merge,
                "head_pipeline_id": self.head_pipeline(mr_id),
                "url": format!("{}/-/merge_requests/{}", self.web_url(project_id), mr.iid),
                "source": project,
                "target": project,
                "last_commit": last_commit,
                "labels": [],
                "action": action,
            },
            "labels": [],
            "changes": changes,
            "assignees": [],
            "reviewers": [],
        });
        self.emit(project_id, HookEvent::MergeRequest, payload);
    }

    /// A pipeline's jobs as the pipeline webhook lists them (`builds`).
    fn hook_builds(&self, pipeline_id: u64) -> Vec<Value> {
        self.pipeline(pipeline_id)
            .jobs
            .iter()
            .map(|job_id| {
                let job = self.job(*job_id);
                json!({
                    "id": job.id,
                    "stage": job.stage,
                    "name": job.name,
                    "status": job.status.as_str(),
                    "created_at": hook_time(&job.created_at),
                    "started_at": job.started_at.as_ref().map(hook_time),
                    "finished_at": job.finished_at.as_ref().map(hook_time),
                    "duration": seconds_between(job.started_at, job.finished_at),
                    "queued_duration": null,
                    "failure_reason": job.failure_reason,
                    "when": "on_success",
                    "manual": false,
                    "allow_failure": false,
                    "user": World::hook_user(),
                    "runner": null,
                    "artifacts_file": { "filename": null, "size": null },
                    "environment": null,
                })
            })
            .collect()
    }

    pub fn emit_pipeline(&mut self, pipeline_id: u64) {
        let pipeline = self.pipeline(pipeline_id);
        let project_id = pipeline.project_id;
        if !self.wants(project_id, HookEvent::Pipeline) {
            return;
        }
        let merge_request = pipeline
            .mr_iid
            .and_then(|iid| self.find_merge_request(project_id, iid).ok())
            .map(|mr_id| {
                let mr = self.merge_request(mr_id);
                json!({
                    "id": mr.id,
                    "iid": mr.iid,
                    "title": mr.title,
                    "source_branch": mr.source_branch,
                    "source_project_id": project_id,
                    "target_branch": mr.target_branch,
                    "target_project_id": project_id,
                    "state": mr.state.as_str(),
                    "merge_status": "can_be_merged",
                    "detailed_merge_status": self.detailed_merge_status(mr_id),
                    "url": format!("{}/-/merge_requests/{}", self.web_url(project_id), mr.iid),
                })
            })
            .unwrap_or(Value::Null);
        let commit = &self.commits[&pipeline.sha];
        let payload = json!({
            "object_kind": "pipeline",
            "object_attributes": {
                "id": pipeline.id,
                "iid": pipeline.iid,
                "name": null,
                "ref": pipeline.ref_,
                "tag": pipeline.tag,
                "sha": pipeline.sha,
                "before_sha": pipeline.before_sha,
                "source": pipeline.source,
                "status": pipeline.status.as_str(),
                "detailed_status": pipeline.status.as_str(),
                "stages": pipeline.stages,
                "created_at": hook_time(&pipeline.created_at),
                "finished_at": pipeline.finished_at.as_ref().map(hook_time),
                "duration": seconds_between(pipeline.started_at, pipeline.finished_at),
                "queued_duration": null,
                "variables": [],
                "url": format!("{}/-/pipelines/{}", self.web_url(project_id), pipeline.id),
            },
            "merge_request": merge_request,
            "user": World::hook_user(),
            "project": self.hook_project(project_id),
            "commit": {
                "id": commit.sha,
                "message": commit.message,
                "title": commit.title(),
                "timestamp": commit.created_at.to_rfc3339(),
                "url": format!("{}/-/commit/{}", self.web_url(project_id), commit.sha),
                "author": { "name": commit.author_name, "email": commit.author_email },
            },
            "source_pipeline": null,
            "builds": self.hook_builds(pipeline_id),
        });
        self.emit(project_id, HookEvent::Pipeline, payload);
    }

    pub fn emit_job(&mut self, job_id: u64) {
        let job = self.job(job_id);
        let project_id = job.project_id;
        if !self.wants(project_id, HookEvent::Job) {
            return;
        }
        let pipeline = self.pipeline(job.pipeline_id);
        let commit = &self.commits[&pipeline.sha];
        let retries = self
            .jobs
            .iter()
            .filter(|j| j.pipeline_id == job.pipeline_id && j.name == job.name && j.retried)
            .count();
        let payload = json!({
            "object_kind": "build",
            "ref": pipeline.ref_,
            "tag": pipeline.tag,
            "before_sha": pipeline.before_sha,
            "sha": pipeline.sha,
            "build_id": job.id,
            "build_name": job.name,
            "build_stage": job.stage,
            "build_status": job.status.as_str(),
            "build_created_at": api_time(&job.created_at),
            "build_started_at": job.started_at.as_ref().map(api_time),
            "build_finished_at": job.finished_at.as_ref().map(api_time),
            "build_duration": seconds_between(job.started_at, job.finished_at),
            "build_queued_duration": null,
            "build_allow_failure": false,
            "build_failure_reason": job.failure_reason.clone().unwrap_or_else(|| "unknown_failure".to_string()),
            "retries_count": retries,
            "pipeline_id": pipeline.id,
            "project_id": project_id,
            "project_name": self.project(project_id).path,
            "user": World::hook_user(),
            "commit": {
                "id": pipeline.id,
                "name": null,
                "sha": pipeline.sha,
                "message": commit.message,
                "author_name": commit.author_name,
                "author_email": commit.author_email,
                "status": pipeline.status.as_str(),
                "duration": seconds_between(pipeline.started_at, pipeline.finished_at),
                "started_at": pipeline.started_at.as_ref().map(api_time),
                "finished_at": pipeline.finished_at.as_ref().map(api_time),
            },
            "repository": self.hook_repository(project_id),
            "project": self.hook_project(project_id),
            "runner": null,
            "environment": null,
        });
        self.emit(project_id, HookEvent::Job, payload);
    }
}

/// Seconds between two times, as GitLab's `duration` (null until both are known).
pub(crate) fn seconds_between(
    start: Option<chrono::DateTime<Utc>>,
    end: Option<chrono::DateTime<Utc>>,
) -> Option<f64> {
    match (start, end) {
        (Some(start), Some(end)) => Some((end - start).num_milliseconds() as f64 / 1000.0),
        _ => None,
    }
}
