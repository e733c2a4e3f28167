//! Merge requests: creation, merge now or when the pipeline succeeds, and the merge itself
//! (merge commit or fast-forward) onto the target branch.

use chrono::Utc;

use super::{MergeRequest, MrState, PipelineStatus, World};
use crate::error::ApiError;
use crate::scenario::MergeMethod;

/// What a merge call asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct MergeOptions {
    /// `auto_merge` or `merge_when_pipeline_succeeds`.
    pub auto_merge: bool,
    /// The source head the caller expects (`sha`).
    pub sha: Option<String>,
    pub merge_commit_message: Option<String>,
}

/// What the head pipeline says about merging now.
enum PipelineGate {
    Passed,
    Running,
    Failed,
}

impl World {
    /// Opens a merge request (GitLab refuses a second open one for the same branches).
    pub fn create_merge_request(
        &mut self,
        project_id: u64,
        source: &str,
        target: &str,
        title: &str,
        description: &str,
    ) -> Result<u64, ApiError> {
        // GitLab's handle_merge_request_errors!: branch_conflict and base errors are 422,
        // validate_branches (a duplicate) 409, each with the messages in an array.
        let project = self.project(project_id);
        if source == target {
            return Err(ApiError::new(
                422,
                serde_json::json!({ "message": ["You can't use same project/branch for source and target"] }),
            ));
        }
        for (name, branch) in [("Source", source), ("Target", target)] {
            if !project.branches.contains_key(branch) {
                return Err(ApiError::new(
                    422,
                    serde_json::json!({ "message": [format!("{name} branch \"{branch}\" does not exist")] }),
                ));
            }
        }
        let duplicate = self.merge_requests.iter().find(|mr| {
            mr.project_id == project_id
                && mr.state == MrState::Opened
                && mr.source_branch == source
                && mr.target_branch == target
        });
        if let Some(existing) = duplicate {
            return Err(ApiError::new(
                409,
                serde_json::json!({ "message": [format!("Another open merge request already exists for this source branch: !{}", existing.iid)] }),
            ));
        }
        let id = self.merge_requests.len() as u64 + 1;
        let project = self.project_mut(project_id);
        let iid = project.next_mr_iid;
        project.next_mr_iid += 1;
        let now = Utc::now();
        self.merge_requests.push(MergeRequest {
            id,
            iid,
            project_id,
            title: title.to_string(),
            description: description.to_string(),
            source_branch: source.to_string(),
            target_branch: target.to_string(),
            state: MrState::Opened,
            created_at: now,
            updated_at: now,
            merged_at: None,
            merged_sha: None,
            merge_commit_sha: None,
            auto_merge: false,
            merge_count: 0,
        });
        self.emit_merge_request(id, "open");
        Ok(iid)
    }

    /// A merge request's global id from its project and iid.
    pub fn find_merge_request(&self, project_id: u64, iid: u64) -> Result<u64, ApiError> {
        self.merge_requests
            .iter()
            .find(|mr| mr.project_id == project_id && mr.iid == iid)
            .map(|mr| mr.id)
            .ok_or_else(|| ApiError::not_found("Merge Request"))
    }

    pub fn merge_request(&self, id: u64) -> &MergeRequest {
        &self.merge_requests[id as usize - 1]
    }

    fn merge_request_mut(&mut self, id: u64) -> &mut MergeRequest {
        &mut self.merge_requests[id as usize - 1]
    }

    /// The source head now, or the merged head once merged.
    pub fn merge_request_sha(&self, id: u64) -> Option<String> {
        let mr = self.merge_request(id);
        mr.merged_sha.clone().or_else(|| {
            self.project(mr.project_id)
                .branches
                .get(&mr.source_branch)
                .cloned()
        })
    }

    /// The head pipeline: the latest pipeline for the source head.
    pub fn head_pipeline(&self, id: u64) -> Option<u64> {
        let mr = self.merge_request(id);
        let sha = self.merge_request_sha(id)?;
        self.latest_pipeline_for_sha(mr.project_id, &sha)
            .map(|p| p.id)
    }

    /// Whether the merge request cannot merge because of a conflict (injected or real).
    pub fn has_conflict(&self, id: u64) -> bool {
        let mr = self.merge_request(id);
        let project = self.project(mr.project_id);
        if self.faults.merge_conflict(&project.path, mr.iid) {
            return true;
        }
        match (
            project.branches.get(&mr.target_branch),
            project.branches.get(&mr.source_branch),
        ) {
            (Some(target), Some(source)) => self.three_way_merge(target, source).is_none(),
            _ => true,
        }
    }

    /// GitLab's `detailed_merge_status`.
    pub fn detailed_merge_status(&self, id: u64) -> &'static str {
        if self.merge_request(id).state != MrState::Opened {
            return "not_open";
        }
        if self.has_conflict(id) {
            return "conflict";
        }
        match self.pipeline_gate(id) {
            PipelineGate::Passed => "mergeable",
            PipelineGate::Running => "ci_still_running",
            PipelineGate::Failed => "ci_must_pass",
        }
    }

    fn pipeline_gate(&self, id: u64) -> PipelineGate {
        match self.head_pipeline(id).map(|p| self.pipeline(p).status) {
            Some(PipelineStatus::Success) => PipelineGate::Passed,
            Some(status) if status.is_active() => PipelineGate::Running,
            Some(_) => PipelineGate::Failed,
            None => {
                // No pipeline: only a project without CI config may merge without one.
                let head = self.merge_request_sha(id).unwrap_or_default();
                let has_ci = self
                    .commits
                    .get(&head)
                    .is_some_and(|c| c.files.contains_key(".gitlab-ci.yml"));
                if has_ci {
                    PipelineGate::Running
                } else {
                    PipelineGate::Passed
                }
            }
        }
    }

    /// `PUT .../merge`: merges now, or sets auto-merge while the pipeline runs.
    pub fn merge(&mut self, id: u64, options: MergeOptions) -> Result<(), ApiError> {
        if self.merge_request(id).state != MrState::Opened {
            return Err(ApiError::method_not_allowed());
        }
        if let (Some(expected), Some(head)) = (&options.sha, self.merge_request_sha(id))
            && *expected != head
        {
            return Err(ApiError::message(
                409,
                "SHA does not match HEAD of source branch",
            ));
        }
        if self.has_conflict(id) {
            return Err(ApiError::message(406, "Branch cannot be merged"));
        }
        match (self.pipeline_gate(id), options.auto_merge) {
            (PipelineGate::Passed, _) => self.do_merge(id, options.merge_commit_message),
            (PipelineGate::Running, true) => {
                let mr = self.merge_request_mut(id);
                if !mr.auto_merge {
                    mr.auto_merge = true;
                    mr.updated_at = Utc::now();
                    self.emit_merge_request(id, "update");
                }
                Ok(())
            }
            (PipelineGate::Running, false) | (PipelineGate::Failed, _) => {
                Err(ApiError::method_not_allowed())
            }
        }
    }

    /// Merges every open merge request waiting for this (successful) pipeline.
    pub fn merge_waiting_merge_requests(&mut self, pipeline_id: u64) {
        let pipeline = self.pipeline(pipeline_id);
        let (project_id, sha) = (pipeline.project_id, pipeline.sha.clone());
        let waiting: Vec<u64> = self
            .merge_requests
            .iter()
            .filter(|mr| {
                mr.project_id == project_id && mr.state == MrState::Opened && mr.auto_merge
            })
            .map(|mr| mr.id)
            .filter(|id| self.merge_request_sha(*id).as_deref() == Some(sha.as_str()))
            .collect();
        for id in waiting {
            if !self.has_conflict(id) {
                // A failure here leaves the MR open with auto-merge set, as GitLab does.
                let _ = self.do_merge(id, None);
            }
        }
    }

    fn do_merge(&mut self, id: u64, message: Option<String>) -> Result<(), ApiError> {
        let mr = self.merge_request(id);
        let project_id = mr.project_id;
        let project = self.project(project_id);
        let target = project.branches[&mr.target_branch].clone();
        let source = project.branches[&mr.source_branch].clone();
        let target_branch = mr.target_branch.clone();
        let fast_forward =
            project.merge_method == MergeMethod::Ff && self.ancestors(&source).contains(&target);
        let merge_commit = if fast_forward {
            None
        } else {
            let files = self
                .three_way_merge(&target, &source)
                .ok_or_else(|| ApiError::message(406, "Branch cannot be merged"))?;
            let message = message.unwrap_or_else(|| {
                format!(
                    "Merge branch '{}' into '{}'\n\n{}\n\nSee merge request {}!{}",
                    mr.source_branch, mr.target_branch, mr.title, project.path, mr.iid
                )
            });
            Some(self.new_commit(vec![target.clone(), source.clone()], message, files))
        };
        let new_head = merge_commit.clone().unwrap_or_else(|| source.clone());
        let new_commits: Vec<String> = self
            .commits_between(&target, &new_head)
            .iter()
            .map(|c| c.sha.clone())
            .collect();
        let mr = self.merge_request_mut(id);
        mr.state = MrState::Merged;
        mr.merged_at = Some(Utc::now());
        mr.updated_at = Utc::now();
        mr.merged_sha = Some(source);
        mr.merge_commit_sha = merge_commit;
        mr.merge_count += 1;
        self.move_branch(
            project_id,
            &target_branch,
            Some(target),
            new_head,
            new_commits,
        );
        tracing::info!(project = %self.project(project_id).path, merge_request = self.merge_request(id).iid, into = %target_branch, "merge request merged");
        self.emit_merge_request(id, "merge");
        Ok(())
    }

    /// `PUT .../merge_requests/:iid`: title, description, `state_event` close or reopen.
    pub fn update_merge_request(
        &mut self,
        id: u64,
        title: Option<&str>,
        description: Option<&str>,
        state_event: Option<&str>,
    ) -> Result<(), ApiError> {
        let state = self.merge_request(id).state;
        let (new_state, action) = match (state_event, state) {
            (Some("close"), MrState::Opened) => (MrState::Closed, "close"),
            (Some("reopen"), MrState::Closed) => (MrState::Opened, "reopen"),
            (Some("close" | "reopen"), _) | (None, _) => (state, "update"),
            (Some(other), _) => {
                return Err(ApiError::new(
                    400,
                    serde_json::json!({ "error": format!("state_event does not have a valid value: {other}") }),
                ));
            }
        };
        let mr = self.merge_request_mut(id);
        if let Some(title) = title {
            mr.title = title.to_string();
        }
        if let Some(description) = description {
            mr.description = description.to_string();
        }
        mr.state = new_state;
        if new_state != MrState::Opened {
            mr.auto_merge = false;
        }
        mr.updated_at = Utc::now();
        self.emit_merge_request(id, action);
        Ok(())
    }

    /// `POST .../cancel_merge_when_pipeline_succeeds`.
    pub fn cancel_auto_merge(&mut self, id: u64) -> Result<(), ApiError> {
        let mr = self.merge_request_mut(id);
        if mr.state != MrState::Opened || !mr.auto_merge {
            return Err(ApiError::message(406, "Can't cancel the automatic merge"));
        }
        mr.auto_merge = false;
        mr.updated_at = Utc::now();
        self.emit_merge_request(id, "update");
        Ok(())
    }

    /// `POST .../merge_requests/:iid/pipelines`: a pipeline for the source head.
    pub fn create_merge_request_pipeline(&mut self, id: u64) -> Result<u64, ApiError> {
        let mr = self.merge_request(id);
        let (project_id, source, iid) = (mr.project_id, mr.source_branch.clone(), mr.iid);
        self.create_pipeline(project_id, &source, "merge_request_event", Some(iid))
    }
}
