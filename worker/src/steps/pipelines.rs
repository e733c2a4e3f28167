//! Pipelines: recording them and saying in one sentence why one failed.

use convoy_forge::{Pipeline, PipelineStatus};
use convoy_store::{ComponentRelease, PipelineKind, PipelineRecord};

use crate::context::Context;
use crate::error::StepError;

/// Lines of a failed job's log read, and the meaningful ones of those shown as the reason.
const LOG_TAIL_LINES: usize = 8;
const REASON_LINES: usize = 3;

/// Records the pipeline and returns the record as it was before (to tell what is new).
pub(crate) async fn record(
    ctx: &Context,
    c: &ComponentRelease,
    kind: PipelineKind,
    pipeline: &Pipeline,
    failure: Option<&Failure>,
) -> Result<Option<PipelineRecord>, StepError> {
    let previous = ctx.store.pipeline_of(c.id).await?;
    let record = PipelineRecord {
        project_path: c.project_path.clone(),
        pipeline_id: pipeline.id,
        kind,
        git_ref: pipeline.git_ref.clone(),
        sha: pipeline.sha.clone(),
        status: status_word(&pipeline.status),
        web_url: pipeline.web_url.clone(),
        failed_job: failure.map(|f| f.job.clone()),
        failure_log: failure.map(|f| f.log_tail.clone()),
        duration: pipeline.duration,
    };
    if previous.as_ref() != Some(&record) {
        ctx.store.record_pipeline(c.id, &record).await?;
    }
    Ok(previous)
}

/// True when `previous` already recorded this pipeline in this status.
pub(crate) fn already_seen(previous: &Option<PipelineRecord>, pipeline: &Pipeline) -> bool {
    previous
        .as_ref()
        .is_some_and(|p| p.pipeline_id == pipeline.id && p.status == status_word(&pipeline.status))
}

/// True when the failure of this pipeline was already recorded with its failing job.
pub(crate) fn already_reported(previous: &Option<PipelineRecord>, pipeline: &Pipeline) -> bool {
    already_seen(previous, pipeline) && previous.as_ref().is_some_and(|p| p.failed_job.is_some())
}

/// The failing job of a pipeline and the end of its log.
pub(crate) struct Failure {
    pub job: String,
    pub log_tail: String,
}

impl Failure {
    /// "lint failed in job `lint`: <last lines of the log>".
    pub(crate) fn sentence(&self, what: &str) -> String {
        if self.log_tail.is_empty() {
            format!("{what} failed in job `{}`", self.job)
        } else {
            format!("{what} failed in job `{}`: {}", self.job, self.log_tail)
        }
    }
}

/// Finds the first failed job of the pipeline and the tail of its log.
pub(crate) async fn failure_of(
    ctx: &Context,
    project: &str,
    pipeline: &Pipeline,
) -> Result<Failure, StepError> {
    let jobs = ctx.forge.pipeline_jobs(project, pipeline.id).await?;
    let Some(job) = jobs.iter().find(|j| j.status == PipelineStatus::Failed) else {
        let status = status_word(&pipeline.status);
        return Ok(Failure {
            job: format!("pipeline {status}"),
            log_tail: String::new(),
        });
    };
    let log = ctx
        .forge
        .job_log_tail(project, job.id, LOG_TAIL_LINES)
        .await?;
    let log_tail = meaningful_tail(&log);
    Ok(Failure {
        job: job.name.clone(),
        log_tail,
    })
}

/// The last lines of a log that say something: no blank lines, no runner banner.
fn meaningful_tail(log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Running with gitlab-runner"))
        .collect();
    lines[lines.len().saturating_sub(REASON_LINES)..].join(" / ")
}

/// The forge's word for a status (`success`, `failed`, …).
pub(crate) fn status_word(status: &PipelineStatus) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(word)) => word,
        _ => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::meaningful_tail;

    #[test]
    fn the_reason_keeps_the_last_lines_that_say_something() {
        let log = "Running with gitlab-runner 17.8.0\n$ pod lib lint\n\n- ERROR | CoreKit (~> 0.1.0) is not released\nJob failed: exit code 1\n";
        assert_eq!(
            meaningful_tail(log),
            "$ pod lib lint / - ERROR | CoreKit (~> 0.1.0) is not released / Job failed: exit code 1"
        );
        assert_eq!(meaningful_tail("Running with gitlab-runner 17.8.0\n"), "");
    }
}
