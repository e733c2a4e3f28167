//! Duty `FollowMergeRequest` (state pending): the merge request waits for the component's dependencies; then Convoy makes sure
//! a pipeline GitLab will run exists for the merge request's head (retrying a failed one,
//! starting one when there is none or only a skipped one), waits until GitLab shows that
//! pipeline as the merge request's head pipeline, and only then asks GitLab to merge when it
//! succeeds. So GitLab never merges without CI because of Convoy: the merge call is made only
//! while the head pipeline for the current head is Convoy's and running, or already passed.

use convoy_core::ci_config::Pipeline as CiPipeline;
use convoy_core::component::ComponentEvent;
use convoy_forge::{ForgeError, MergeRequest, MergeRequestState, Pipeline, PipelineStatus};
use convoy_store::{ComponentRelease, PipelineKind};

use super::pipelines::{self, already_reported, failure_of};
use super::prepare::merge_request_record;
use crate::context::Context;
use crate::error::StepError;

/// Looks at the merge request and acts when the component is ready.
pub(crate) async fn follow_merge_request(
    ctx: &Context,
    c: &ComponentRelease,
    ready: bool,
) -> Result<Option<ComponentEvent>, StepError> {
    let Some(iid) = c.merge_request_iid else {
        return Err(StepError::Fatal(
            "no merge request is recorded: retry the component".to_owned(),
        ));
    };
    let mr = ctx.forge.merge_request(&c.project_path, iid).await?;
    ctx.store
        .record_merge_request(c.id, &merge_request_record(&c.project_path, &mr))
        .await?;
    if let Some(event) = finished(&mr) {
        return Ok(Some(event));
    }
    if !c.acted {
        // Shown to the owner while waiting (lint usually fails until dependencies are out);
        // not reported as a failure before Convoy retried it.
        if let Some(pipeline) = &mr.head_pipeline {
            pipelines::record(ctx, c, PipelineKind::MergeRequest, pipeline, None).await?;
        }
        if !ready {
            return Ok(None);
        }
        let pipeline = start_ci(ctx, c, &mr).await?;
        pipelines::record(ctx, c, PipelineKind::MergeRequest, &pipeline, None).await?;
        ctx.store.set_component_acted(c.id, true).await?;
        return Ok(Some(ComponentEvent::DependenciesReleased));
    }
    follow(ctx, c, &mr).await
}

/// The event of a merge request that is no longer open.
pub(super) fn finished(mr: &MergeRequest) -> Option<ComponentEvent> {
    match mr.state {
        MergeRequestState::Merged => Some(ComponentEvent::MergeRequestMerged {
            target: mr.target_branch.clone(),
        }),
        MergeRequestState::Closed => Some(ComponentEvent::MergeRequestClosed),
        MergeRequestState::Opened | MergeRequestState::Locked => None,
    }
}

/// The head pipeline when GitLab shows it for the merge request's current head commit.
fn current_head_pipeline(mr: &MergeRequest) -> Option<&Pipeline> {
    mr.head_pipeline
        .as_ref()
        .filter(|p| mr.sha.as_deref() == Some(p.sha.as_str()))
}

/// Makes sure a pipeline GitLab runs exists for the head: retries a failed or canceled head
/// pipeline, keeps a running or passed one, and starts one when there is none or it was
/// skipped (`[ci skip]`). Returns the pipeline Convoy now follows.
async fn start_ci(
    ctx: &Context,
    c: &ComponentRelease,
    mr: &MergeRequest,
) -> Result<Pipeline, StepError> {
    match current_head_pipeline(mr) {
        Some(p) if matches!(p.status, PipelineStatus::Failed | PipelineStatus::Canceled) => {
            ctx.still_current(c).await?;
            Ok(ctx.forge.retry_pipeline(&c.project_path, p.id).await?)
        }
        Some(p) if p.status != PipelineStatus::Skipped => Ok(p.clone()),
        _ => start_pipeline(ctx, c, mr).await,
    }
}

/// A pipeline GitLab will run for the merge request's head: a merge request pipeline when the
/// CI config has merge request jobs, else a branch pipeline (which also runs despite a
/// `[ci skip]` head). The branch pipeline is asked for first when the config read while
/// preparing runs no job in a merge request pipeline (GitLab would refuse it); the other kind
/// is still tried if the first is refused (the config may have changed since). When GitLab
/// refuses both, the component fails with what to change.
async fn start_pipeline(
    ctx: &Context,
    c: &ComponentRelease,
    mr: &MergeRequest,
) -> Result<Pipeline, StepError> {
    let kinds = if c.no_merge_request_jobs {
        [CiPipeline::Branch, CiPipeline::MergeRequest]
    } else {
        [CiPipeline::MergeRequest, CiPipeline::Branch]
    };
    let (mut for_mr, mut for_branch) = (String::new(), String::new());
    for kind in kinds {
        ctx.still_current(c).await?;
        match (create_pipeline(ctx, c, mr, kind).await?, kind) {
            (Ok(pipeline), _) => return Ok(pipeline),
            (Err(refusal), CiPipeline::MergeRequest) => for_mr = refusal,
            (Err(refusal), CiPipeline::Branch) => for_branch = refusal,
        }
    }
    Err(StepError::Fatal(format!(
        "GitLab runs no pipeline for merge request !{} of {}: the merge request pipeline \
         was refused ({for_mr}) and the branch pipeline too ({for_branch}). Give a job of \
         .gitlab-ci.yml the rule `if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`, or \
         let workflow:rules allow branch pipelines of {}, then retry",
        mr.iid, c.project_path, mr.source_branch
    )))
}

/// Asks GitLab for a pipeline of `kind` for the merge request's head: the pipeline, or why
/// GitLab refused it (a merge request pipeline for a `[ci skip]` head counts as refused: it
/// is skipped).
async fn create_pipeline(
    ctx: &Context,
    c: &ComponentRelease,
    mr: &MergeRequest,
    kind: CiPipeline,
) -> Result<Result<Pipeline, String>, StepError> {
    let created = match kind {
        CiPipeline::MergeRequest => {
            ctx.forge
                .create_merge_request_pipeline(&c.project_path, mr.iid)
                .await
        }
        CiPipeline::Branch => {
            ctx.forge
                .create_pipeline(&c.project_path, &mr.source_branch)
                .await
        }
    };
    match created {
        Ok(pipeline) if pipeline.status == PipelineStatus::Skipped => Ok(Err(
            "it was skipped: the head commit says [ci skip]".to_owned(),
        )),
        Ok(pipeline) => Ok(Ok(pipeline)),
        Err(ForgeError::Rejected { message, .. } | ForgeError::CannotMerge { message, .. }) => {
            Ok(Err(message))
        }
        Err(error) => Err(error.into()),
    }
}

/// After Convoy acted: wait until GitLab shows the followed pipeline (or a newer one for a
/// newer head, after an owner's push) as the head pipeline, then ask for the merge once;
/// report a failed pipeline once (the owner fixes it and pushes).
async fn follow(
    ctx: &Context,
    c: &ComponentRelease,
    mr: &MergeRequest,
) -> Result<Option<ComponentEvent>, StepError> {
    let followed = ctx.store.pipeline_of(c.id).await?;
    let Some(head) = current_head_pipeline(mr) else {
        // GitLab has not linked a pipeline for this head yet (it does so asynchronously, and
        // sends no webhook when it does).
        ctx.look_again_soon(c.release_id, c.id);
        return Ok(None);
    };
    let is_followed = followed.as_ref().is_some_and(|f| f.pipeline_id == head.id);
    let newer = followed.as_ref().is_none_or(|f| head.id > f.pipeline_id);
    if !is_followed && !newer {
        // Still the pipeline from before Convoy's: the new one is not linked yet.
        ctx.look_again_soon(c.release_id, c.id);
        return Ok(None);
    }
    match head.status {
        PipelineStatus::Skipped => {
            // An owner pushed a `[ci skip]` commit: start a pipeline GitLab runs.
            let pipeline = start_pipeline(ctx, c, mr).await?;
            pipelines::record(ctx, c, PipelineKind::MergeRequest, &pipeline, None).await?;
            Ok(None)
        }
        PipelineStatus::Failed | PipelineStatus::Canceled => report_failure(ctx, c, head).await,
        _ => {
            pipelines::record(ctx, c, PipelineKind::MergeRequest, head, None).await?;
            if !mr.auto_merge {
                return request_merge(ctx, c, mr).await;
            }
            // Auto-merge is set: GitLab merges once every check passes. One that a person
            // must fix (a conflict, a rebase, threads, approvals) would keep it waiting.
            match refusal_advice(mr) {
                Some(advice) if head.status == PipelineStatus::Success => {
                    Err(StepError::Fatal(format!(
                        "merge request !{} passed its pipeline but GitLab does not merge it: {advice}",
                        mr.iid
                    )))
                }
                _ => Ok(None),
            }
        }
    }
}

async fn report_failure(
    ctx: &Context,
    c: &ComponentRelease,
    pipeline: &Pipeline,
) -> Result<Option<ComponentEvent>, StepError> {
    let previous = ctx.store.pipeline_of(c.id).await?;
    if already_reported(&previous, pipeline) {
        return Ok(None);
    }
    let failure = failure_of(ctx, &c.project_path, pipeline).await?;
    pipelines::record(ctx, c, PipelineKind::MergeRequest, pipeline, Some(&failure)).await?;
    let reason = failure.sentence("merge request pipeline");
    Ok(Some(ComponentEvent::MergeRequestPipelineFailed { reason }))
}

/// Asks GitLab to merge when the (running or passed) head pipeline succeeds, for this head
/// only. A refusal is read, not guessed: the merge request is read again and Convoy either
/// waits or fails with GitLab's reason and what the owner does.
async fn request_merge(
    ctx: &Context,
    c: &ComponentRelease,
    mr: &MergeRequest,
) -> Result<Option<ComponentEvent>, StepError> {
    let sha = mr.sha.as_deref().unwrap_or_default();
    ctx.still_current(c).await?;
    match ctx
        .forge
        .merge_when_pipeline_succeeds(&c.project_path, mr.iid, sha)
        .await
    {
        Ok(merged_or_set) => {
            ctx.store
                .record_merge_request(c.id, &merge_request_record(&c.project_path, &merged_or_set))
                .await?;
            Ok(finished(&merged_or_set))
        }
        Err(ForgeError::CannotMerge { status, message }) => {
            let now = ctx.forge.merge_request(&c.project_path, mr.iid).await?;
            if let Some(event) = finished(&now) {
                return Ok(Some(event));
            }
            match refusal_advice(&now) {
                Some(advice) => Err(StepError::Fatal(format!(
                    "GitLab refused to merge merge request !{} ({status}: {message}): {advice}",
                    mr.iid
                ))),
                // Checking, pipeline being linked, head moved: look again soon.
                None => {
                    ctx.look_again_soon(c.release_id, c.id);
                    Ok(None)
                }
            }
        }
        Err(error) => Err(error.into()),
    }
}

/// What the owner does about a merge GitLab refuses, by `detailed_merge_status`; `None` when
/// the refusal passes by itself (a check still running, a pipeline still being created).
fn refusal_advice(mr: &MergeRequest) -> Option<String> {
    let status = mr.detailed_merge_status.as_deref().unwrap_or("unchecked");
    let (branch, target) = (&mr.source_branch, &mr.target_branch);
    let advice = match status {
        "conflict" => {
            format!("{branch} conflicts with {target}: resolve the conflict on {branch} and push")
        }
        "need_rebase" => format!(
            "the project merges by fast-forward or semi-linear history and {branch} is behind {target}: rebase {branch} on {target} and push"
        ),
        "discussions_not_resolved" => "resolve its open threads, then retry".to_owned(),
        "not_approved" => "it needs the required approvals: approve it, then retry".to_owned(),
        "draft_status" => "it is a draft: mark it as ready, then retry".to_owned(),
        "blocked_status" => {
            "it is blocked by another merge request: merge that one first, then retry".to_owned()
        }
        "jira_association_missing" => "its title or description must name a Jira issue".to_owned(),
        "requested_changes" => "a reviewer requested changes: address them, then retry".to_owned(),
        "not_open" => "it is not open any more".to_owned(),
        _ => return None,
    };
    Some(advice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mr(status: &str) -> MergeRequest {
        MergeRequest {
            iid: 1,
            state: MergeRequestState::Opened,
            source_branch: "release/0.1.0".into(),
            target_branch: "main".into(),
            web_url: String::new(),
            sha: Some("abc".into()),
            merge_commit_sha: None,
            auto_merge: false,
            head_pipeline: None,
            detailed_merge_status: Some(status.into()),
        }
    }

    #[test]
    fn a_refusal_that_passes_by_itself_is_waited_for() {
        for status in [
            "checking",
            "unchecked",
            "preparing",
            "ci_still_running",
            "mergeable",
        ] {
            assert_eq!(refusal_advice(&mr(status)), None, "{status}");
        }
    }

    #[test]
    fn a_refusal_a_person_must_fix_says_what_to_do() {
        let conflict = refusal_advice(&mr("conflict")).unwrap();
        assert!(
            conflict.contains("resolve the conflict on release/0.1.0"),
            "{conflict}"
        );
        let rebase = refusal_advice(&mr("need_rebase")).unwrap();
        assert!(rebase.contains("rebase release/0.1.0 on main"), "{rebase}");
        let threads = refusal_advice(&mr("discussions_not_resolved")).unwrap();
        assert!(threads.contains("resolve its open threads"), "{threads}");
        assert!(
            refusal_advice(&mr("not_approved"))
                .unwrap()
                .contains("approvals")
        );
    }
}
