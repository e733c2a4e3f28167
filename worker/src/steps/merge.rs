//! pending: the merge request waits for the component's dependencies, then Convoy retries its
//! pipeline (lint usually failed only because a dependency was not out yet) and sets it to
//! merge when the pipeline succeeds.

use convoy_core::component::ComponentEvent;
use convoy_forge::{ForgeError, MergeRequest, MergeRequestState, PipelineStatus};
use convoy_store::{ComponentRelease, PipelineKind};

use super::pipelines::{self, already_reported, failure_of};
use super::prepare::merge_request_record;
use crate::context::Context;
use crate::error::StepError;

/// Looks at the merge request and acts when the component is ready.
pub(crate) async fn pending(
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
    match mr.state {
        MergeRequestState::Merged => return Ok(Some(ComponentEvent::MergeRequestMerged)),
        MergeRequestState::Closed => return Ok(Some(ComponentEvent::MergeRequestClosed)),
        MergeRequestState::Opened | MergeRequestState::Locked => {}
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
        request_merge(ctx, c, &mr).await?;
        ctx.store.set_component_acted(c.id, true).await?;
        return Ok(Some(ComponentEvent::DependenciesReleased));
    }
    watch_pipeline(ctx, c, &mr).await
}

/// Retries (or starts) the MR pipeline and sets the MR to merge when it succeeds.
async fn request_merge(
    ctx: &Context,
    c: &ComponentRelease,
    mr: &MergeRequest,
) -> Result<(), StepError> {
    match &mr.head_pipeline {
        Some(p) if matches!(p.status, PipelineStatus::Failed | PipelineStatus::Canceled) => {
            ctx.forge.retry_pipeline(&c.project_path, p.id).await?;
        }
        // GitLab records a `[ci skip]` head commit as a skipped pipeline: start a real one.
        Some(p) if p.status != PipelineStatus::Skipped => {}
        _ => start_pipeline(ctx, c, mr).await?,
    }
    enable_auto_merge(ctx, c, mr.iid).await
}

/// A merge request pipeline, or a branch pipeline when GitLab refuses one (a CI config with no
/// merge request jobs).
async fn start_pipeline(
    ctx: &Context,
    c: &ComponentRelease,
    mr: &MergeRequest,
) -> Result<(), StepError> {
    match ctx
        .forge
        .create_merge_request_pipeline(&c.project_path, mr.iid)
        .await
    {
        Ok(_) => Ok(()),
        Err(ForgeError::Rejected { .. }) => {
            ctx.forge
                .create_pipeline(&c.project_path, &mr.source_branch)
                .await?;
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

async fn enable_auto_merge(ctx: &Context, c: &ComponentRelease, iid: u64) -> Result<(), StepError> {
    let mr = ctx
        .forge
        .merge_when_pipeline_succeeds(&c.project_path, iid)
        .await?;
    ctx.store
        .record_merge_request(c.id, &merge_request_record(&c.project_path, &mr))
        .await?;
    Ok(())
}

/// After the merge was requested: report a failed pipeline once (the owner fixes it and
/// pushes), and set auto-merge again if the forge dropped it.
async fn watch_pipeline(
    ctx: &Context,
    c: &ComponentRelease,
    mr: &MergeRequest,
) -> Result<Option<ComponentEvent>, StepError> {
    let Some(pipeline) = &mr.head_pipeline else {
        return Ok(None);
    };
    if pipeline.status == PipelineStatus::Failed {
        let previous = ctx.store.pipeline_of(c.id).await?;
        if already_reported(&previous, pipeline) {
            return Ok(None);
        }
        let failure = failure_of(ctx, &c.project_path, pipeline).await?;
        pipelines::record(ctx, c, PipelineKind::MergeRequest, pipeline, Some(&failure)).await?;
        let reason = failure.sentence("merge request pipeline");
        return Ok(Some(ComponentEvent::MergeRequestPipelineFailed { reason }));
    }
    pipelines::record(ctx, c, PipelineKind::MergeRequest, pipeline, None).await?;
    if !mr.auto_merge && pipeline.status != PipelineStatus::Canceled {
        // A new pipeline after the owner's fix, or a forge that dropped auto-merge.
        enable_auto_merge(ctx, c, mr.iid).await?;
    }
    Ok(None)
}

/// A canceled component: withdraw the auto-merge Convoy set, so GitLab merges nothing more.
pub(crate) async fn withdraw(ctx: &Context, c: &ComponentRelease) -> Result<(), StepError> {
    let Some(record) = ctx.store.merge_request_of(c.id).await? else {
        return Ok(());
    };
    if !record.auto_merge || record.state != "opened" {
        return Ok(());
    }
    let mr = ctx
        .forge
        .cancel_auto_merge(&c.project_path, record.iid)
        .await?;
    ctx.store
        .record_merge_request(c.id, &merge_request_record(&c.project_path, &mr))
        .await?;
    let reason = format!("auto-merge of merge request !{} canceled", record.iid);
    super::prepare::note(ctx, c, reason).await
}
