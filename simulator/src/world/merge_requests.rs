//! Merge requests: creation, the head pipeline GitLab links to them, their merge status, the
//! merge endpoint's rules (merge now, set auto-merge, or refuse), auto-merge, and the merge
//! itself onto the target branch. Each rule names the GitLab code it follows.

use std::time::Instant;

use chrono::Utc;

use super::{MergeRecord, MergeRequest, MrState, Pipeline, PipelineSource, PipelineStatus, World};
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
    /// `should_remove_source_branch`; else the merge request's `force_remove_source_branch`.
    pub should_remove_source_branch: Option<bool>,
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
        remove_source_branch: Option<bool>,
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
        // MergeRequests::BuildService: without `remove_source_branch`, the project's
        // "Delete source branch by default" setting decides.
        let force_remove_source_branch =
            remove_source_branch.unwrap_or(project.remove_source_branch_after_merge);
        let now = Utc::now();
        let checks_done = Instant::now() + self.head_pipeline_lag;
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
            auto_merge_sha: None,
            merge_count: 0,
            head_pipeline_id: None,
            force_remove_source_branch,
            assignee_ids: Vec::new(),
            prepared_at: Instant::now() + self.head_pipeline_lag / 2,
            checked_at: checks_done,
        });
        self.emit_merge_request(id, "open");
        // MergeRequests::AfterCreateService creates the merge request pipeline.
        if self.automatic_merge_request_pipelines {
            let _ = self.create_merge_request_pipeline(id, false);
        }
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

    /// Assigns the merge request (`assignee_ids`, `MergeRequests::CreateService`).
    pub fn set_assignees(&mut self, id: u64, assignee_ids: Vec<u64>) {
        self.merge_request_mut(id).assignee_ids = assignee_ids;
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

    /// The linked head pipeline (`head_pipeline_id`), possibly older than the source head.
    pub fn head_pipeline(&self, id: u64) -> Option<u64> {
        self.merge_request(id).head_pipeline_id
    }

    /// `MergeRequest#diff_head_pipeline`: the linked head pipeline when it is for the current
    /// source head.
    fn diff_head_pipeline(&self, id: u64) -> Option<&Pipeline> {
        let sha = self.merge_request_sha(id)?;
        let pipeline = self.pipeline(self.head_pipeline(id)?);
        (pipeline.sha == sha).then_some(pipeline)
    }

    fn diff_head_pipeline_success(&self, id: u64) -> bool {
        self.diff_head_pipeline(id)
            .is_some_and(|p| p.status == PipelineStatus::Success)
    }

    /// The pipelines of a merge request (`MergeRequest#all_pipelines`): its source branch's
    /// and its own merge request pipelines, newest first.
    pub fn merge_request_pipelines(&self, id: u64) -> Vec<&Pipeline> {
        let mr = self.merge_request(id);
        let mr_ref = format!("refs/merge-requests/{}/head", mr.iid);
        self.pipelines
            .iter()
            .rev()
            .filter(|p| {
                p.project_id == mr.project_id
                    && (p.ref_ == mr_ref || (p.ref_ == mr.source_branch && !p.tag))
            })
            .collect()
    }

    /// `MergeRequest#find_diff_head_pipeline`: the newest of its pipelines for the head.
    fn newest_head_pipeline(&self, id: u64) -> Option<&Pipeline> {
        let sha = self.merge_request_sha(id)?;
        self.merge_request_pipelines(id)
            .into_iter()
            .find(|p| p.sha == sha)
    }

    /// `MergeRequests::UpdateHeadPipelineWorker`: `head_pipeline_lag` after a pipeline for
    /// the head is created, it becomes the head pipeline; then auto-merge looks again.
    pub fn link_head_pipelines(&mut self, now: Instant) {
        let lag = self.head_pipeline_lag;
        let due: Vec<(u64, u64)> = self
            .merge_requests
            .iter()
            .filter(|mr| mr.state == MrState::Opened)
            .filter_map(|mr| {
                let newest = self.newest_head_pipeline(mr.id)?;
                let due = newest.created_instant + lag <= now;
                (due && mr.head_pipeline_id != Some(newest.id)).then_some((mr.id, newest.id))
            })
            .collect();
        for (mr_id, pipeline_id) in due {
            self.merge_request_mut(mr_id).head_pipeline_id = Some(pipeline_id);
            self.process_auto_merge(mr_id);
        }
    }

    /// `MergeRequest#pipeline_creating?`: a pipeline for the head exists and is not linked.
    fn pipeline_creating(&self, id: u64) -> bool {
        self.newest_head_pipeline(id)
            .is_some_and(|p| Some(p.id) != self.head_pipeline(id))
    }

    /// `MergeRequest#has_ci?`: it has a head pipeline or any pipeline at all.
    fn has_ci(&self, id: u64) -> bool {
        self.head_pipeline(id).is_some() || !self.merge_request_pipelines(id).is_empty()
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

    /// `merge_method` `ff` and `rebase_merge` need the source on top of the target
    /// (`MergeRequest#should_be_rebased?`, `MergeRequests::Mergeability::CheckRebaseStatusService`).
    fn needs_rebase(&self, id: u64) -> bool {
        let mr = self.merge_request(id);
        let project = self.project(mr.project_id);
        if project.merge_method == MergeMethod::Merge {
            return false;
        }
        match (
            project.branches.get(&mr.target_branch),
            project.branches.get(&mr.source_branch),
        ) {
            (Some(target), Some(source)) => !self.ancestors(source).contains(target),
            _ => false,
        }
    }

    /// The first failing check other than CI, by its `detailed_merge_status` word
    /// (`MergeRequest.all_mergeability_checks`: not open, conflict, need rebase).
    fn failing_check(&self, id: u64) -> Option<&'static str> {
        if self.merge_request(id).state != MrState::Opened {
            Some("not_open")
        } else {
            self.failing_git_check(id)
        }
    }

    /// `MergeRequest#mergeable?` checks these after `mergeable_state?`: `can_be_merged?`
    /// (no conflict) and `!should_be_rebased?`.
    fn failing_git_check(&self, id: u64) -> Option<&'static str> {
        if self.has_conflict(id) {
            Some("conflict")
        } else if self.needs_rebase(id) {
            Some("need_rebase")
        } else {
            None
        }
    }

    /// `MergeRequests::Mergeability::CheckCiStatusService#pipeline_must_succeed?`.
    fn pipeline_must_succeed(&self, id: u64) -> bool {
        let mr = self.merge_request(id);
        self.project(mr.project_id)
            .only_allow_merge_if_pipeline_succeeds
            || (mr.auto_merge && self.has_ci(id))
    }

    /// `CheckCiStatusService#mergeable_ci_state?`.
    fn mergeable_ci_state(&self, id: u64) -> bool {
        if !self.pipeline_must_succeed(id) {
            return true;
        }
        let Some(pipeline) = self.diff_head_pipeline(id) else {
            return false;
        };
        if self.pipeline_creating(id) {
            return false;
        }
        let project = self.project(self.merge_request(id).project_id);
        if project.allow_merge_on_skipped_pipeline && pipeline.status == PipelineStatus::Skipped {
            return true;
        }
        pipeline.status == PipelineStatus::Success
    }

    /// `MergeRequest#mergeable_state?`: open, and CI passed where it must.
    fn mergeable_state(&self, id: u64) -> bool {
        self.merge_request(id).state == MrState::Opened && self.mergeable_ci_state(id)
    }

    /// `MergeRequest#mergeable?`: `mergeable_state?`, no conflict, no rebase needed.
    fn mergeable(&self, id: u64) -> bool {
        self.mergeable_state(id) && self.failing_git_check(id).is_none()
    }

    /// `MergeRequest#diff_head_pipeline_considered_in_progress?`.
    fn head_pipeline_in_progress(&self, id: u64) -> bool {
        let only_allow = self
            .project(self.merge_request(id).project_id)
            .only_allow_merge_if_pipeline_succeeds;
        self.diff_head_pipeline(id).is_some_and(|p| {
            if only_allow {
                p.finished_at.is_none() && p.status.is_active()
            } else {
                p.status.is_active()
            }
        })
    }

    /// `AutoMerge::MergeWhenChecksPassService#availability_details`: available unless the
    /// merge request is mergeable and its head pipeline is not in progress.
    fn auto_merge_available(&self, id: u64) -> bool {
        self.merge_request(id).state == MrState::Opened
            && (!self.mergeable(id) || self.head_pipeline_in_progress(id))
    }

    /// GitLab's `detailed_merge_status`
    /// (`MergeRequests::Mergeability::DetailedMergeStatusService`).
    pub fn detailed_merge_status(&self, id: u64) -> &'static str {
        let mr = self.merge_request(id);
        if mr.state != MrState::Opened {
            return "not_open";
        }
        let now = Instant::now();
        if now < mr.prepared_at {
            return "preparing";
        }
        if now < mr.checked_at {
            return "checking";
        }
        if let Some(check) = self.failing_check(id) {
            return check;
        }
        let ci_check_active = mr.auto_merge
            || self
                .project(mr.project_id)
                .only_allow_merge_if_pipeline_succeeds;
        if ci_check_active && !self.mergeable_ci_state(id) {
            let running = self
                .diff_head_pipeline(id)
                .is_some_and(|p| p.status.is_active());
            return if running {
                "ci_still_running"
            } else {
                "ci_must_pass"
            };
        }
        "mergeable"
    }

    /// `PUT .../merge` (`lib/api/merge_requests.rb`): with auto-merge asked, merge now when
    /// the head pipeline succeeded, set auto-merge when the strategy is available, else 405;
    /// without, merge when mergeable, else 405. A merge that cannot happen is 422
    /// `Branch cannot be merged`; a `sha` that is not the source head is 409.
    pub fn merge(&mut self, id: u64, options: MergeOptions) -> Result<(), ApiError> {
        let (immediately, automatically) = if options.auto_merge {
            (
                self.diff_head_pipeline_success(id),
                self.auto_merge_available(id),
            )
        } else {
            (self.mergeable_state(id), false)
        };
        if !immediately && !automatically {
            return Err(ApiError::method_not_allowed());
        }
        if !automatically && !self.mergeable(id) {
            return Err(ApiError::message(422, "Branch cannot be merged"));
        }
        let head = self.merge_request_sha(id).unwrap_or_default();
        if let Some(expected) = &options.sha
            && *expected != head
        {
            return Err(ApiError::message(
                409,
                format!("SHA does not match HEAD of source branch: {head}"),
            ));
        }
        if immediately {
            // MergeRequests::MergeService checks `mergeable?` again; the API then answers
            // 422 when the merge request did not merge.
            if !self.mergeable(id) {
                return Err(ApiError::message(422, "Branch cannot be merged"));
            }
            return self.do_merge(
                id,
                options.merge_commit_message,
                options.should_remove_source_branch,
                false,
            );
        }
        let mr = self.merge_request_mut(id);
        mr.auto_merge = true;
        mr.auto_merge_sha = Some(options.sha.unwrap_or(head));
        if let Some(remove) = options.should_remove_source_branch {
            mr.force_remove_source_branch = remove;
        }
        mr.updated_at = Utc::now();
        self.emit_merge_request(id, "update");
        // AutoMerge::BaseService#execute enqueues AutoMergeProcessWorker at once.
        self.process_auto_merge(id);
        Ok(())
    }

    /// `AutoMerge::MergeWhenChecksPassService#process`: merge once the head pipeline
    /// succeeded (or when there is no CI at all) and every check passes.
    fn process_auto_merge(&mut self, id: u64) {
        let mr = self.merge_request(id);
        if mr.state != MrState::Opened || !mr.auto_merge {
            return;
        }
        if self.has_ci(id) && !self.diff_head_pipeline_success(id) {
            return;
        }
        if !self.mergeable(id) {
            return;
        }
        // A failure here leaves the MR open with auto-merge set, as GitLab does.
        let _ = self.do_merge(id, None, None, true);
    }

    /// After a pipeline succeeds, auto-merge looks at the merge requests it heads.
    pub fn process_auto_merges_for(&mut self, pipeline_id: u64) {
        let heads: Vec<u64> = self
            .merge_requests
            .iter()
            .filter(|mr| mr.head_pipeline_id == Some(pipeline_id))
            .map(|mr| mr.id)
            .collect();
        for id in heads {
            self.process_auto_merge(id);
        }
    }

    /// `MergeRequests::RefreshService` after a push to a branch: its open merge requests are
    /// checked again, lose an auto-merge set for another head (`abort_auto_merges`), and get
    /// a merge request pipeline for the new head.
    pub fn refresh_merge_requests(&mut self, project_id: u64, branch: &str, head: &str) {
        let lag = self.head_pipeline_lag;
        let open: Vec<u64> = self
            .merge_requests
            .iter()
            .filter(|mr| {
                mr.project_id == project_id
                    && mr.state == MrState::Opened
                    && (mr.source_branch == branch || mr.target_branch == branch)
            })
            .map(|mr| mr.id)
            .collect();
        for id in open {
            let mr = self.merge_request_mut(id);
            mr.checked_at = Instant::now() + lag;
            if mr.source_branch != branch {
                continue;
            }
            if mr.auto_merge && mr.auto_merge_sha.as_deref() != Some(head) {
                mr.auto_merge = false;
                mr.auto_merge_sha = None;
                mr.updated_at = Utc::now();
                self.emit_merge_request(id, "update");
            }
            if self.automatic_merge_request_pipelines {
                let _ = self.create_merge_request_pipeline(id, false);
            }
        }
    }

    /// `MergeRequests::MergeService`: a merge commit (`merge`, `rebase_merge`) or a
    /// fast-forward (`ff`) onto the target, recorded with the head pipeline it had; then the
    /// source branch is deleted when asked (`should_remove_source_branch`, else
    /// `force_remove_source_branch`).
    fn do_merge(
        &mut self,
        id: u64,
        message: Option<String>,
        should_remove_source_branch: Option<bool>,
        by_auto_merge: bool,
    ) -> Result<(), ApiError> {
        let mr = self.merge_request(id);
        let project_id = mr.project_id;
        let project = self.project(project_id);
        let target = project.branches[&mr.target_branch].clone();
        let source = project.branches[&mr.source_branch].clone();
        let (target_branch, source_branch) = (mr.target_branch.clone(), mr.source_branch.clone());
        let fast_forward = project.merge_method == MergeMethod::Ff;
        let default_message = format!(
            "Merge branch '{}' into '{}'\n\n{}\n\nSee merge request {}!{}",
            mr.source_branch, mr.target_branch, mr.title, project.path, mr.iid
        );
        let remove_source = should_remove_source_branch.unwrap_or(mr.force_remove_source_branch);
        let head_pipeline = mr.head_pipeline_id.map(|p| self.pipeline(p));
        let record = MergeRecord {
            project_id,
            iid: mr.iid,
            sha: source.clone(),
            head_pipeline: head_pipeline.map(|p| p.id),
            head_pipeline_sha: head_pipeline.map(|p| p.sha.clone()),
            head_pipeline_status: head_pipeline.map(|p| p.status),
            by_auto_merge,
        };
        let merge_commit = if fast_forward {
            None
        } else {
            let files = self
                .three_way_merge(&target, &source)
                .ok_or_else(|| ApiError::message(422, "Branch cannot be merged"))?;
            let message = message.unwrap_or(default_message);
            Some(self.new_commit(vec![target.clone(), source.clone()], message, files))
        };
        self.merges.push(record);
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
        mr.auto_merge = false;
        self.move_branch(
            project_id,
            &target_branch,
            Some(target),
            new_head,
            new_commits,
        );
        tracing::info!(project = %self.project(project_id).path, merge_request = self.merge_request(id).iid, into = %target_branch, "merge request merged");
        // `MergeRequests::PostMergeService` → `SystemNoteService.change_status`.
        self.add_system_note(id, "merged");
        self.emit_merge_request(id, "merge");
        if remove_source {
            self.delete_branch(project_id, &source_branch);
        }
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

    /// `MergeRequests::CreatePipelineService`: a merge request pipeline for the source head.
    /// Without `allow_duplicate` (the automatic pipelines of `AfterCreateService` and
    /// `RefreshService`), a head that already has a merge request pipeline gets none
    /// (`can_create_pipeline_for?`); `POST .../merge_requests/:iid/pipelines` allows it.
    pub fn create_merge_request_pipeline(
        &mut self,
        id: u64,
        allow_duplicate: bool,
    ) -> Result<u64, ApiError> {
        let duplicate = self
            .newest_head_pipeline(id)
            .is_some_and(|p| p.mr_iid.is_some());
        if !allow_duplicate && duplicate {
            return Err(ApiError::new(
                400,
                serde_json::json!({ "message": { "base": ["Cannot create a pipeline for this merge request."] } }),
            ));
        }
        let mr = self.merge_request(id);
        let (project_id, source, iid) = (mr.project_id, mr.source_branch.clone(), mr.iid);
        self.create_pipeline(
            project_id,
            &source,
            PipelineSource::MergeRequestEvent,
            Some(iid),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{FaultControl, Faults};
    use crate::scenario::Scenario;

    const SCENARIO: &str = r#"
projects:
  - path: group/mr
    branches:
      - name: main
        files:
          .gitlab-ci.yml: |
            lint:
              script: pod lib lint
              rules:
                - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      - name: feature
        from: main
        files:
          A.swift: "struct A {}\n"
"#;

    /// `MergeRequests::CreatePipelineService#can_create_pipeline_for?`: without
    /// `allow_duplicate` (the automatic pipelines), a head whose pipeline is already a merge
    /// request pipeline gets no second one; the API passes `allow_duplicate: true`.
    #[test]
    fn a_second_automatic_merge_request_pipeline_for_the_same_head_is_refused() {
        let scenario = Scenario::from_yaml(SCENARIO).unwrap();
        let mut world = World::from_scenario(
            &scenario,
            "http://sim",
            FaultControl::new(Faults::default()),
        )
        .unwrap();
        let iid = world
            .create_merge_request(1, "feature", "main", "R", "", None)
            .unwrap();
        let id = world.find_merge_request(1, iid).unwrap();
        assert_eq!(
            world.merge_request_pipelines(id).len(),
            1,
            "opened with one"
        );
        let refused = world.create_merge_request_pipeline(id, false).unwrap_err();
        assert!(
            refused
                .text()
                .contains("Cannot create a pipeline for this merge request."),
            "{}",
            refused.text()
        );
        assert!(world.create_merge_request_pipeline(id, true).is_ok());
        assert_eq!(world.merge_request_pipelines(id).len(), 2);
    }
}
