//! Pipelines and jobs: created from `.gitlab-ci.yml`, moved on by the ticker stage by stage,
//! each job's outcome decided by the rules when its stage ends.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::{Job, MrState, Pipeline, World};
use crate::ci_config::{self, JobSpec, NoPipeline, PipelineContext, PipelineKind};
use crate::error::ApiError;
use crate::rules::skips_ci;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PipelineStatus {
    Created,
    Running,
    Success,
    Failed,
    Canceled,
    /// A `[ci skip]` push recorded as real GitLab does (no jobs, never runs).
    Skipped,
}

impl PipelineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineStatus::Created => "created",
            PipelineStatus::Running => "running",
            PipelineStatus::Success => "success",
            PipelineStatus::Failed => "failed",
            PipelineStatus::Canceled => "canceled",
            PipelineStatus::Skipped => "skipped",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, PipelineStatus::Created | PipelineStatus::Running)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobStatus {
    Created,
    Running,
    Success,
    Failed,
    Canceled,
    Skipped,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Created => "created",
            JobStatus::Running => "running",
            JobStatus::Success => "success",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
            JobStatus::Skipped => "skipped",
        }
    }

    fn is_finished(self) -> bool {
        !matches!(self, JobStatus::Created | JobStatus::Running)
    }
}

/// The share of a pipeline's duration it waits before starting, as runners do.
const QUEUE_SHARE: u32 = 10;
/// The longest a pipeline waits for a runner when one is free.
const MAX_QUEUE_TIME: Duration = Duration::from_millis(200);

/// How long a pipeline of this duration waits before it starts.
fn queue_time(duration: Duration) -> Duration {
    (duration / QUEUE_SHARE).min(MAX_QUEUE_TIME)
}

/// What started a pipeline (`CI_PIPELINE_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PipelineSource {
    Push,
    /// `POST /projects/:id/pipeline`.
    Api,
    MergeRequestEvent,
}

impl PipelineSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineSource::Push => "push",
            PipelineSource::Api => "api",
            PipelineSource::MergeRequestEvent => "merge_request_event",
        }
    }

    /// Only `POST /projects/:id/pipeline` creates its pipeline despite `[ci skip]`
    /// (`lib/api/ci/pipelines.rb`: `execute(:api, ignore_skip_ci: true, ...)`); pushes and
    /// `MergeRequests::CreatePipelineService` do not pass `ignore_skip_ci`.
    fn ignores_skip_ci(self) -> bool {
        self == PipelineSource::Api
    }
}

impl World {
    /// Creates a pipeline for a branch or tag head (or, with `mr_iid`, a merge request
    /// pipeline for its source branch), or says why GitLab would not. A `[ci skip]` head
    /// gives a persisted `skipped` pipeline (`Gitlab::Ci::Pipeline::Chain::Skip`).
    pub fn create_pipeline(
        &mut self,
        project_id: u64,
        reference: &str,
        source: PipelineSource,
        mr_iid: Option<u64>,
    ) -> Result<u64, ApiError> {
        let (sha, is_tag) = self.pipeline_target(project_id, reference, mr_iid)?;
        let commit = &self.commits[&sha];
        let ci = commit.files.get(".gitlab-ci.yml").cloned();
        if ci.is_none() {
            return Err(base_error(&NoPipeline::MissingConfig.message()));
        }
        if !source.ignores_skip_ci() && skips_ci(&commit.message) {
            if self.record_skipped_pipelines {
                return Ok(self.insert_skipped_pipeline(project_id, reference, source, mr_iid));
            }
            if source == PipelineSource::Push {
                // The older model: a `[ci skip]` push gives no pipeline at all.
                return Err(base_error("Skipped by [ci skip]"));
            }
        }
        let context = self.pipeline_context(project_id, reference, is_tag, source, mr_iid);
        let specs = self
            .jobs_for(ci.as_deref(), &context)
            .map_err(|why| base_error(&why.message()))?;
        let pipeline_ref = pipeline_ref(reference, mr_iid);
        let id = self.insert_pipeline(
            project_id,
            sha,
            pipeline_ref,
            is_tag,
            source.as_str(),
            mr_iid,
            &specs,
        );
        for spec in specs {
            self.add_job(id, spec);
        }
        self.emit_pipeline(id);
        Ok(id)
    }

    /// The predefined variables of a new pipeline.
    fn pipeline_context(
        &self,
        project_id: u64,
        reference: &str,
        is_tag: bool,
        source: PipelineSource,
        mr_iid: Option<u64>,
    ) -> PipelineContext {
        let kind = match (is_tag, mr_iid) {
            (_, Some(_)) => PipelineKind::MergeRequest,
            (true, None) => PipelineKind::Tag,
            (false, None) => PipelineKind::Branch,
        };
        let project = self.project(project_id);
        let open: Vec<String> = self
            .merge_requests
            .iter()
            .filter(|mr| {
                mr.project_id == project_id
                    && mr.state == MrState::Opened
                    && mr.source_branch == reference
            })
            .map(|mr| format!("{}!{}", project.path, mr.iid))
            .collect();
        PipelineContext {
            kind,
            source: source.as_str().to_string(),
            ref_name: reference.to_string(),
            open_merge_requests: (!open.is_empty()).then(|| open.join(",")),
            merge_request_iid: mr_iid,
        }
    }

    /// The jobs of a new pipeline. Real GitLab runs in a merge request pipeline only the jobs
    /// that ask for one; unless the scenario is strict, the simulator falls back to the
    /// branch's jobs so that plain CI configurations work.
    fn jobs_for(
        &self,
        ci: Option<&str>,
        context: &PipelineContext,
    ) -> Result<Vec<JobSpec>, NoPipeline> {
        match ci_config::jobs_for(ci, context) {
            Err(NoPipeline::NoJobs)
                if context.kind == PipelineKind::MergeRequest
                    && !self.strict_merge_request_pipelines =>
            {
                let branch = PipelineContext {
                    kind: PipelineKind::Branch,
                    ..context.clone()
                };
                ci_config::jobs_for(ci, &branch)
            }
            other => other,
        }
    }

    /// A `skipped` pipeline with no jobs, as GitLab persists for a `[ci skip]` head
    /// (`Gitlab::Ci::Pipeline::Chain::Skip#perform!` with `save_incompleted`).
    fn insert_skipped_pipeline(
        &mut self,
        project_id: u64,
        reference: &str,
        source: PipelineSource,
        mr_iid: Option<u64>,
    ) -> u64 {
        let (sha, is_tag) = self
            .pipeline_target(project_id, reference, mr_iid)
            .expect("the caller resolved the reference");
        let id = self.insert_pipeline(
            project_id,
            sha,
            pipeline_ref(reference, mr_iid),
            is_tag,
            source.as_str(),
            mr_iid,
            &[],
        );
        let pipeline = self.pipeline_mut(id);
        pipeline.status = PipelineStatus::Skipped;
        pipeline.finished_at = Some(Utc::now());
        pipeline.next_step_at = None;
        self.emit_pipeline(id);
        id
    }

    /// The commit a pipeline for `reference` runs on, and whether it is a tag pipeline.
    fn pipeline_target(
        &self,
        project_id: u64,
        reference: &str,
        mr_iid: Option<u64>,
    ) -> Result<(String, bool), ApiError> {
        let project = self.project(project_id);
        let is_tag = mr_iid.is_none()
            && !project.branches.contains_key(reference)
            && project.tags.contains_key(reference);
        let sha = if is_tag {
            project.tags.get(reference).map(|t| t.commit.clone())
        } else {
            project.branches.get(reference).cloned()
        };
        sha.map(|sha| (sha, is_tag))
            .ok_or_else(|| base_error("Reference not found"))
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_pipeline(
        &mut self,
        project_id: u64,
        sha: String,
        pipeline_ref: String,
        tag: bool,
        source: &str,
        mr_iid: Option<u64>,
        specs: &[JobSpec],
    ) -> u64 {
        let before_sha = self.commits[&sha]
            .parents
            .first()
            .cloned()
            .unwrap_or_else(|| "0".repeat(40));
        let id = self.pipelines.len() as u64 + 1;
        let project = self.project_mut(project_id);
        let iid = project.next_pipeline_iid;
        project.next_pipeline_iid += 1;
        let duration = project.pipeline_duration;
        let now = Utc::now();
        let mut stages: Vec<String> = Vec::new();
        for spec in specs {
            if !stages.contains(&spec.stage) {
                stages.push(spec.stage.clone());
            }
        }
        self.pipelines.push(Pipeline {
            id,
            iid,
            project_id,
            sha,
            before_sha,
            ref_: pipeline_ref,
            tag,
            source: source.to_string(),
            status: PipelineStatus::Created,
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
            stages,
            jobs: Vec::new(),
            mr_iid,
            next_step_at: Some(Instant::now() + queue_time(duration)),
            duration,
            created_instant: Instant::now(),
        });
        id
    }

    fn add_job(&mut self, pipeline_id: u64, spec: JobSpec) -> u64 {
        let id = self.jobs.len() as u64 + 1;
        let project_id = self.pipeline(pipeline_id).project_id;
        self.jobs.push(Job {
            id,
            pipeline_id,
            project_id,
            name: spec.name,
            stage: spec.stage,
            status: JobStatus::Created,
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            log: String::new(),
            failure_reason: None,
            retried: false,
        });
        self.pipeline_mut(pipeline_id).jobs.push(id);
        id
    }

    /// Moves every due pipeline one step on: start, finish a stage, or finish.
    pub fn tick(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .pipelines
            .iter()
            .filter(|p| p.next_step_at.is_some_and(|at| at <= now))
            .map(|p| p.id)
            .collect();
        for id in due {
            self.step(id, now);
        }
        self.link_head_pipelines(now);
    }

    fn step(&mut self, pipeline_id: u64, now: Instant) {
        let pipeline = self.pipeline(pipeline_id);
        if pipeline.status == PipelineStatus::Created {
            // A job runs only once a runner asks for it (`Ci::RegisterJobService`); with no
            // runner online it stays pending ("This job is stuck because the project doesn't
            // have any runners online assigned to it", `Ci::Build#stuck?`).
            if self.project(pipeline.project_id).runners_offline {
                self.pipeline_mut(pipeline_id).next_step_at = Some(now + Duration::from_millis(5));
                return;
            }
            if !self.runner_free() {
                // Every runner is busy: wait, as GitLab's pending pipelines do.
                self.pipeline_mut(pipeline_id).next_step_at = Some(now + Duration::from_millis(5));
                return;
            }
            let pipeline = self.pipeline_mut(pipeline_id);
            pipeline.status = PipelineStatus::Running;
            pipeline.started_at = Some(Utc::now());
            pipeline.updated_at = Utc::now();
            self.emit_pipeline(pipeline_id);
            self.start_next_stage(pipeline_id, now);
            return;
        }
        let running: Vec<u64> = pipeline
            .jobs
            .iter()
            .copied()
            .filter(|j| self.job(*j).status == JobStatus::Running)
            .collect();
        for job_id in running {
            self.finish_job(job_id);
        }
        let failed = self
            .pipeline(pipeline_id)
            .jobs
            .iter()
            .any(|j| self.job(*j).status == JobStatus::Failed);
        if failed {
            self.skip_remaining(pipeline_id);
            self.finish_pipeline(pipeline_id, PipelineStatus::Failed);
        } else if !self.start_next_stage(pipeline_id, now) {
            self.finish_pipeline(pipeline_id, PipelineStatus::Success);
        }
    }

    /// Starts the jobs of the first stage that has jobs waiting; false when none are left.
    fn start_next_stage(&mut self, pipeline_id: u64, now: Instant) -> bool {
        let pipeline = self.pipeline(pipeline_id);
        let waiting: Vec<u64> = pipeline
            .jobs
            .iter()
            .copied()
            .filter(|j| self.job(*j).status == JobStatus::Created)
            .collect();
        let Some(stage) = waiting.first().map(|j| self.job(*j).stage.clone()) else {
            return false;
        };
        let stage_count = pipeline.stages.len().max(1) as u32;
        let stage_time = pipeline
            .duration
            .saturating_sub(queue_time(pipeline.duration))
            / stage_count;
        let stage_jobs: Vec<u64> = waiting
            .into_iter()
            .filter(|j| self.job(*j).stage == stage)
            .collect();
        for job_id in stage_jobs {
            let job = self.job_mut(job_id);
            job.status = JobStatus::Running;
            job.started_at = Some(Utc::now());
            job.log = format!(
                "Running with gitlab-runner 17.8.0 (simulator)\n$ {}\n",
                job_command(&job.name)
            );
            self.emit_job(job_id);
        }
        let pipeline = self.pipeline_mut(pipeline_id);
        pipeline.next_step_at = Some(now + stage_time.max(Duration::from_millis(1)));
        pipeline.updated_at = Utc::now();
        true
    }

    fn finish_job(&mut self, job_id: u64) {
        let outcome = self.job_outcome(job_id);
        let job = self.job_mut(job_id);
        job.finished_at = Some(Utc::now());
        match outcome {
            Ok(log) => {
                job.status = JobStatus::Success;
                job.log.push_str(&log);
                job.log.push_str("Job succeeded\n");
            }
            Err(log) => {
                job.status = JobStatus::Failed;
                job.failure_reason = Some("script_failure".to_string());
                job.log.push_str(&log);
            }
        }
        self.emit_job(job_id);
    }

    fn skip_remaining(&mut self, pipeline_id: u64) {
        let waiting: Vec<u64> = self
            .pipeline(pipeline_id)
            .jobs
            .iter()
            .copied()
            .filter(|j| self.job(*j).status == JobStatus::Created)
            .collect();
        for job_id in waiting {
            self.job_mut(job_id).status = JobStatus::Skipped;
            self.emit_job(job_id);
        }
    }

    fn finish_pipeline(&mut self, pipeline_id: u64, status: PipelineStatus) {
        let pipeline = self.pipeline_mut(pipeline_id);
        pipeline.status = status;
        pipeline.finished_at = Some(Utc::now());
        pipeline.updated_at = Utc::now();
        pipeline.next_step_at = None;
        let (project_id, reference) = (pipeline.project_id, pipeline.ref_.clone());
        tracing::info!(project = %self.project(project_id).path, %reference, pipeline = pipeline_id, status = status.as_str(), "pipeline finished");
        self.emit_pipeline(pipeline_id);
        if status == PipelineStatus::Success {
            self.process_auto_merges_for(pipeline_id);
        }
    }

    /// Whether another pipeline may start under the scenario's `ci_capacity`.
    fn runner_free(&self) -> bool {
        match self.ci_capacity {
            Some(capacity) => {
                self.pipelines
                    .iter()
                    .filter(|p| p.status == PipelineStatus::Running)
                    .count()
                    < capacity
            }
            None => true,
        }
    }

    /// Retries the failed and canceled jobs of a pipeline, as GitLab's retry does.
    pub fn retry_pipeline(&mut self, pipeline_id: u64) -> Result<(), ApiError> {
        let pipeline = self.pipeline(pipeline_id);
        if pipeline.status.is_active()
            || matches!(
                pipeline.status,
                PipelineStatus::Success | PipelineStatus::Skipped
            )
        {
            // GitLab accepts the call and has nothing to retry.
            return Ok(());
        }
        let old_jobs = pipeline.jobs.clone();
        let mut jobs = Vec::new();
        for job_id in old_jobs {
            let job = self.job(job_id);
            if matches!(
                job.status,
                JobStatus::Failed | JobStatus::Canceled | JobStatus::Skipped
            ) {
                let spec = JobSpec {
                    name: job.name.clone(),
                    stage: job.stage.clone(),
                };
                self.job_mut(job_id).retried = true;
                let new_id = self.jobs.len() as u64 + 1;
                self.add_job(pipeline_id, spec);
                self.pipeline_mut(pipeline_id).jobs.pop();
                jobs.push(new_id);
            } else {
                jobs.push(job_id);
            }
        }
        let pipeline = self.pipeline_mut(pipeline_id);
        pipeline.jobs = jobs;
        pipeline.status = PipelineStatus::Created;
        pipeline.finished_at = None;
        pipeline.updated_at = Utc::now();
        pipeline.next_step_at = Some(Instant::now() + queue_time(pipeline.duration));
        self.emit_pipeline(pipeline_id);
        Ok(())
    }

    /// Cancels the jobs that have not finished.
    pub fn cancel_pipeline(&mut self, pipeline_id: u64) {
        if !self.pipeline(pipeline_id).status.is_active() {
            return;
        }
        let open: Vec<u64> = self
            .pipeline(pipeline_id)
            .jobs
            .iter()
            .copied()
            .filter(|j| !self.job(*j).status.is_finished())
            .collect();
        for job_id in open {
            let job = self.job_mut(job_id);
            job.status = JobStatus::Canceled;
            job.finished_at = Some(Utc::now());
            self.emit_job(job_id);
        }
        self.finish_pipeline(pipeline_id, PipelineStatus::Canceled);
    }

    /// The latest pipeline (by id) of a project for a commit.
    pub fn latest_pipeline_for_sha(&self, project_id: u64, sha: &str) -> Option<&Pipeline> {
        self.pipelines
            .iter()
            .rev()
            .find(|p| p.project_id == project_id && p.sha == sha)
    }
}

/// A merge request pipeline runs on `refs/merge-requests/:iid/head`.
fn pipeline_ref(reference: &str, mr_iid: Option<u64>) -> String {
    match mr_iid {
        Some(iid) => format!("refs/merge-requests/{iid}/head"),
        None => reference.to_string(),
    }
}

/// GitLab's `{"message":{"base":[...]}}` answer for a pipeline it will not create.
fn base_error(message: &str) -> ApiError {
    ApiError::new(400, serde_json::json!({ "message": { "base": [message] } }))
}

fn job_command(name: &str) -> &'static str {
    match name {
        "lint" => "pod lib lint --allow-warnings",
        "publish" | "deploy" | "release" => "pod repo push private-specs --allow-warnings",
        _ => "./ci/run",
    }
}
