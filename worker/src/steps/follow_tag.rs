//! Duty `FollowTag` (state deploying): the version tag on the target branch, then its pipeline.

use convoy_core::component::ComponentEvent;
use convoy_forge::{ForgeError, Pipeline, PipelineStatus, Tag};
use convoy_store::{ComponentRelease, PipelineKind, TagRecord};

use super::pipelines::{self, already_seen, failure_of};
use crate::context::Context;
use crate::error::StepError;

/// Creates the tag if needed and follows its pipeline to success or failure.
pub(crate) async fn follow_tag(
    ctx: &Context,
    c: &ComponentRelease,
) -> Result<Option<ComponentEvent>, StepError> {
    let (Some(version), Some(target)) = (&c.version, &c.target_branch) else {
        return Err(StepError::Fatal(format!(
            "{} has no version or target branch recorded: retry it",
            c.name
        )));
    };
    if c.tag_name.as_deref() == Some(version.as_str())
        && let Some(pipeline) = ctx.forge.latest_pipeline(&c.project_path, version).await?
        && pipeline.status != PipelineStatus::Skipped
    {
        // Convoy created and recorded this tag, and its pipeline runs: no need to read the tag
        // again (a skipped or missing pipeline takes the long way, which reads its message).
        return follow_pipeline(ctx, c, pipeline).await;
    }
    let tag = match ensure_tag(ctx, c, version, target).await? {
        TagOutcome::Ours(tag) => tag,
        TagOutcome::Taken => {
            return Ok(Some(ComponentEvent::TagExists {
                tag: version.clone(),
            }));
        }
    };
    if c.tag_name.as_deref() != Some(version.as_str()) {
        let record = TagRecord {
            project_path: c.project_path.clone(),
            name: tag.name.clone(),
            sha: tag.commit_sha.clone(),
        };
        ctx.store.record_tag(c.id, &record).await?;
        return Ok(Some(ComponentEvent::TagCreated { tag: tag.name }));
    }
    follow_tag_pipeline(ctx, c, &tag).await
}

enum TagOutcome {
    /// Created by Convoy now or in an earlier run.
    Ours(Tag),
    /// Exists and is not Convoy's: never overwritten.
    Taken,
}

async fn ensure_tag(
    ctx: &Context,
    c: &ComponentRelease,
    version: &str,
    target: &str,
) -> Result<TagOutcome, StepError> {
    let forge = &ctx.forge;
    if let Some(tag) = forge.tag(&c.project_path, version).await? {
        return Ok(if is_ours(ctx, c, &tag, target).await? {
            TagOutcome::Ours(tag)
        } else {
            TagOutcome::Taken
        });
    }
    let message = format!("Release {} {version}", c.name);
    ctx.still_current(c).await?;
    match forge
        .create_tag(&c.project_path, version, target, &message)
        .await
    {
        Ok(tag) => Ok(TagOutcome::Ours(tag)),
        // Created between our look and our call: the next pass decides whose it is.
        Err(ForgeError::TagExists { tag }) => Err(StepError::Transient(format!(
            "tag {tag} appeared meanwhile"
        ))),
        Err(error) => Err(error.into()),
    }
}

/// A tag is Convoy's when Convoy recorded it, or when it points at the target branch's head
/// (Convoy created it and stopped before recording it).
async fn is_ours(
    ctx: &Context,
    c: &ComponentRelease,
    tag: &Tag,
    target: &str,
) -> Result<bool, StepError> {
    if c.tag_name.as_deref() == Some(tag.name.as_str()) {
        return Ok(true);
    }
    let head = ctx.forge.branch(&c.project_path, target).await?;
    Ok(head.commit_sha == tag.commit_sha)
}

async fn follow_tag_pipeline(
    ctx: &Context,
    c: &ComponentRelease,
    tag: &Tag,
) -> Result<Option<ComponentEvent>, StepError> {
    let latest = ctx
        .forge
        .latest_pipeline(&c.project_path, &tag.name)
        .await?;
    // A `[ci skip]` tag gets no pipeline, or (on GitLab) one recorded as skipped.
    let skipped = match &latest {
        None => skips_ci(&tag.commit_message),
        Some(pipeline) => pipeline.status == PipelineStatus::Skipped,
    };
    if skipped {
        ctx.still_current(c).await?;
        let pipeline = ctx
            .forge
            .create_pipeline(&c.project_path, &tag.name)
            .await?;
        pipelines::record(ctx, c, PipelineKind::Tag, &pipeline, None).await?;
        return Ok(Some(ComponentEvent::TagPipelineMissing));
    }
    // The forge starts tag pipelines asynchronously: look again on the next wake.
    let Some(pipeline) = latest else {
        return Ok(None);
    };
    follow_pipeline(ctx, c, pipeline).await
}

/// Records what the tag's pipeline says and turns a finished one into the component's event.
async fn follow_pipeline(
    ctx: &Context,
    c: &ComponentRelease,
    pipeline: Pipeline,
) -> Result<Option<ComponentEvent>, StepError> {
    let previous = ctx.store.pipeline_of(c.id).await?;
    if already_seen(&previous, &pipeline) && !pipeline.status.is_finished() {
        return Ok(None);
    }
    match pipeline.status {
        PipelineStatus::Success => {
            pipelines::record(ctx, c, PipelineKind::Tag, &pipeline, None).await?;
            Ok(Some(ComponentEvent::TagPipelineSucceeded))
        }
        PipelineStatus::Failed | PipelineStatus::Canceled => {
            let failure = failure_of(ctx, &c.project_path, &pipeline).await?;
            pipelines::record(ctx, c, PipelineKind::Tag, &pipeline, Some(&failure)).await?;
            let reason = format!(
                "{} ({})",
                failure.sentence("tag pipeline"),
                pipeline.web_url
            );
            Ok(Some(ComponentEvent::TagPipelineFailed { reason }))
        }
        _ => {
            pipelines::record(ctx, c, PipelineKind::Tag, &pipeline, None).await?;
            Ok(None)
        }
    }
}

/// True when a commit message asks CI to skip it (GitLab's
/// `/\[(ci[ _-]skip|skip[ _-]ci)\]/i`), so a tag on it gets no pipeline that runs.
fn skips_ci(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    ["ci", "skip"].iter().any(|first| {
        let second = if *first == "ci" { "skip" } else { "ci" };
        [' ', '_', '-']
            .iter()
            .any(|sep| lower.contains(&format!("[{first}{sep}{second}]")))
    })
}

#[cfg(test)]
mod tests {
    use super::skips_ci;

    #[test]
    fn ci_skip_markers_in_either_order_are_recognised() {
        assert!(skips_ci("Release A 0.1.0 [ci skip]"));
        assert!(skips_ci("[skip ci] bump"));
        assert!(skips_ci("[CI-Skip] bump") && skips_ci("bump [skip_ci]"));
        assert!(!skips_ci("Merge branch 'release/0.1.0' into 'main'"));
    }
}
